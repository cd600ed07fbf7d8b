"""The package's public surface and the light-client promise."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import sweepd

BLOCKER = textwrap.dedent("""
    import sys, importlib.abc
    HEAVY = {"torch", "ray", "sqlalchemy", "fastapi", "starlette", "scipy", "sklearn",
             "alembic", "psycopg", "uvicorn"}
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HEAVY:
                raise ImportError(f"{name} is blocked: the light client must not need it")
    sys.meta_path.insert(0, Block())
""")


def test_public_surface_lists_only_the_deliberate_names():
    assert sorted(sweepd.__all__) == sorted([
        "Client", "Sweep", "SweepSpec", "SweepdError", "Trial", "TrialResult", "TrialSpec",
        "__version__",
    ])
    for name in sweepd.__all__:
        assert getattr(sweepd, name) is not None


def test_import_light_client_without_server_dependencies():
    code = BLOCKER + textwrap.dedent("""
        import sweepd
        from sweepd import Client, SweepSpec
        from sweepd.examples import seed_example
        spec = seed_example(steps=10, seeds=2)
        assert spec.n_trials == 32
        client = Client(url="http://127.0.0.1:9", token="swd_x")
        assert client.url == "http://127.0.0.1:9"
        import sweepd.weights, sweepd.schemas
        print("light-ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    assert "light-ok" in out.stdout


def test_block_heavy_import_fires():
    """The blocker really blocks: otherwise the test above proves nothing."""
    code = BLOCKER + "import torch\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "blocked" in out.stderr


def test_validate_submission_imports_no_torch():
    code = textwrap.dedent("""
        import sys
        from sweepd.spec import SweepSpec, spec_hash
        from sweepd.trainability import check_trainable
        spec = SweepSpec.model_validate({"name": "x", "dataset": {"name": "iris"},
                                         "seeds": [0], "initializers": ["glorot_uniform"]})
        check_trainable(spec)
        spec_hash(spec)
        assert "torch" not in sys.modules, sorted(m for m in sys.modules if "torch" in m)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_progress_bar_counts_steps_of_running_trials():
    from tqdm import tqdm

    from sweepd.client import _parse_sse, _steps_per_trial, _update_bar

    steps = _steps_per_trial({"training": {"steps": 1000}})
    bar = tqdm(total=128 * steps, disable=True)
    _update_bar(bar, {"n_trials": 128, "progress": 0.5,
                      "counts": {"pending": 0, "running": 128, "completed": 0}}, steps)
    assert bar.n == 64_000  # no trial finished, half of every trial's steps done
    events = list(_parse_sse(iter(["id: 7", "event: trial", 'data: {"id": 3}', ""]), None))
    assert events == [("trial", {"id": 3, "_id": "7"})]


def test_wheel_installs_only_sweepd_prefixed_packages(tmp_path):
    """Issue 13: the repository's api/, workers/, migrations/ and service/ folders install as
    sweepd_api, sweepd_workers, sweepd_migrations and sweepd_service, so no installed name can
    collide with another distribution's `api` or `workers`; the package data travels with them."""
    import tomllib
    import zipfile
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path), str(root)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    assert "is absent from the `packages` configuration" not in built.stderr
    (wheel,) = tmp_path.glob("sweepd-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"sweepd", "sweepd_api", "sweepd_workers", "sweepd_migrations", "sweepd_service"}
    assert "sweepd_migrations/versions/0001_initial.py" in names
    assert any(n.startswith("sweepd_api/web/templates/") for n in names)
    assert any(n.startswith("sweepd_api/web/static/") for n in names)

    # every package folder of the repository is listed, so a new one cannot be left out
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {"api": "sweepd_api", "workers": "sweepd_workers", "migrations": "sweepd_migrations",
               "service": "sweepd_service", "sweepd": "sweepd"}
    found = {".".join([folders[p.parent.relative_to(root).parts[0]],
                       *p.parent.relative_to(root).parts[1:]])
             for folder in folders for p in (root / folder).rglob("__init__.py")}
    data_only = {"sweepd_api.web.static", "sweepd_api.web.templates"}
    assert found | data_only == listed


def test_plots_without_plotly_name_the_extra():
    code = BLOCKER.replace('"uvicorn"}', '"uvicorn", "plotly"}') + textwrap.dedent("""
        from sweepd import plots
        try:
            plots.accuracy({"rows": []})
        except ImportError as exc:
            print(exc)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "pip install 'sweepd[plot]'" in out.stdout


def test_wait_backs_off_when_the_stream_cap_answers_429(monkeypatch):
    """Over the per-user stream cap the service answers 429 with Retry-After: wait() waits
    that long and reconnects instead of giving up."""
    from sweepd.client import Client, Sweep
    from sweepd.errors import LimitExceeded
    from sweepd.schemas import SweepPublic

    def public(state):
        return SweepPublic.model_validate({
            "id": 1, "name": "s", "state": state, "n_trials": 1,
            "counts": {"pending": 0, "running": 0, "completed": int(state == "completed"),
                       "failed": 0, "cancelled": 0},
            "progress": 1.0 if state == "completed" else 0.0, "spec": {"training": {"steps": 1}},
            "created_at": "2026-12-02T00:00:00Z", "updated_at": "2026-12-02T00:00:00Z"})

    client = Client(url="http://127.0.0.1:9", token="swd_x")
    states = iter(["running", "completed"])
    monkeypatch.setattr(client, "get", lambda sweep_id: Sweep(client, public(next(states))))
    refused = []

    def events(sweep_id, **kw):
        if not refused:
            error = LimitExceeded("429: too many event streams")
            error.retry_after = 0.01
            refused.append(error)
            raise error
        yield "end", {}

    monkeypatch.setattr(client, "events", events)
    assert client.wait(1, progress=False).state == "completed"
    assert len(refused) == 1
