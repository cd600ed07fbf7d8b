"""The web status page (issue 5): sign-in, the sweeps list, a sweep's comparison, a trial.

Served by the app itself and fully offline: templates in `templates/`, scripts and styles in
`static/`, plotly.js from the installed `plotly` package. `install(app)` adds everything:

    /signin /signout            api.web.auth    server-side sessions (HttpOnly, SameSite=Strict)
    /api/v1/signin-links        api.web.auth    one-time sign-in links (`sweepd open`)
    / /sweeps/{id} /sweeps/{id}/trials/{tid}    api.web.pages   HTML, 303 to /signin without it
    /web-api/...                api.web.data, api.web.live   JSON and SSE for the scripts, 401
    /docs                       api.web.docs    Swagger UI from vendored files, the pages' CSP
    /static/...                 api.web.assets  fingerprinted, cached, gzip

Behind the JSON: `views` (owner-scoped reads, cached for finished sweeps), `figures` (rows,
cost bands, heat maps), `units` (hidden units raw and canonical), `boundary` (decision
regions), `spec_view` (the spec in words, weights as tables), `templating` (Jinja2, CSP).
"""

from __future__ import annotations

from fastapi import FastAPI

from sweepd_api.web import assets, auth, data, docs, live, pages
from sweepd_api.web.views import FigureCache

__all__ = ["install"]


def install(app: FastAPI, *, api_prefix: str) -> None:
    """Add the web page's routes to `app` and the cache its figures use."""
    app.state.web_figures = FigureCache()
    app.add_exception_handler(auth.SignInRequired, auth.redirect_to_signin)
    for router in (auth.router, pages.router, live.router, data.router, docs.router,
                   assets.router):
        app.include_router(router)
    app.include_router(auth.api_router, prefix=api_prefix)
