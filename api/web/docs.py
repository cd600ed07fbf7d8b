"""GET /docs: Swagger UI for the API, served from vendored files under the pages' CSP.

FastAPI's own /docs page loads Swagger UI from a CDN under a floating version tag, with an
inline script: it cannot work offline, and it runs foreign code on the origin that holds the
session cookie. This page loads `swagger-ui-bundle.js` and `swagger-ui.css` from `static/`
(swagger-ui-dist, Apache-2.0: `static/swagger-ui-LICENSE.txt`, version in
`static/swagger-ui-VERSION.txt`) and starts it from `docs.js`, so the Content-Security-Policy of
the pages (no inline or foreign script) holds here too.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from sweepd_api.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    """The interactive API reference (try requests with `Authorize` and a bearer token)."""
    return render(request, "docs.html", openapi_url=request.app.openapi_url)
