"""The composition root of sweepd: the only package that imports both the API (`api`) and the
executor (`workers`). `sweepd_service.server` wires them to the store; `sweepd_service.cli` adds the server
commands (`serve`, `dispatcher`) to the `sweepd` command line through the `sweepd.commands`
entry point, so the domain package never imports this one.
"""
