"""Static assets of the web page, served by the app itself so that the page works offline.

Our own scripts and styles live in `api/web/static/`; plotly.js is read from the installed
`plotly` Python package (`plotly/package_data/plotly.min.js`, MIT licence, header kept), not
copied. Each asset is read once, fingerprinted and gzip-compressed in memory; pages link it as
`/static/<name>?v=<fingerprint>`, so it can be cached for a year and still never go stale.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi import Path as PathParam

from sweepd.errors import NotFound

STATIC_DIR = Path(__file__).parent / "static"
PLOTLY = "plotly.min.js"
_NAME = re.compile(r"^[a-z0-9_-]+(\.min)?\.(js|css|svg)$")
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
          "svg": "image/svg+xml"}
CACHE_FOREVER = "public, max-age=31536000, immutable"

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Asset:
    body: bytes
    gzipped: bytes
    fingerprint: str
    media_type: str


@functools.lru_cache(maxsize=32)
def load_asset(name: str) -> Asset:
    """Read, fingerprint and compress one asset (once per process).

    Raises:
        NotFound: no such asset (names outside the static folder are never read).
    """
    if not _NAME.match(name):
        raise NotFound(f"no asset {name[:80]!r}")
    if name == PLOTLY:
        body = (resources.files("plotly") / "package_data" / PLOTLY).read_bytes()
    else:
        path = STATIC_DIR / name
        if not path.is_file():
            raise NotFound(f"no asset {name!r}")
        body = path.read_bytes()
    return Asset(body, gzip.compress(body, compresslevel=6, mtime=0),
                 hashlib.sha256(body).hexdigest()[:16], _TYPES[name.rsplit(".", 1)[1]])


def asset_url(name: str) -> str:
    """The fingerprinted URL of an asset, for templates."""
    return f"/static/{name}?v={load_asset(name).fingerprint}"


@router.get("/static/{name}")
def static_asset(name: Annotated[str, PathParam(max_length=80)],
                 accept_encoding: Annotated[str, Header(max_length=500)] = "",
                 if_none_match: Annotated[str | None, Header(max_length=200)] = None,
                 ) -> Response:
    """One static asset, gzip-compressed when the client accepts it; 304 when unchanged."""
    asset = load_asset(name)
    headers = {"ETag": f'"{asset.fingerprint}"', "Cache-Control": CACHE_FOREVER,
               "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    if if_none_match is not None and f'"{asset.fingerprint}"' in if_none_match:
        return Response(status_code=304, headers=headers)
    if "gzip" in accept_encoding.lower():
        headers["Content-Encoding"] = "gzip"
        return Response(asset.gzipped, media_type=asset.media_type, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
