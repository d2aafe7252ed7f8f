"""Front-end files from npm, served at ``/static/vendor/<name>`` from an allow-list.

Bootstrap installs them with ``npm ci`` in web/ (versions in web/package-lock.json);
nothing is fetched from a CDN at run time. Only the names in ``FILES`` are served:
node_modules also holds build tools, sources and package metadata that have no
business on the web. Without node_modules the app still starts and logs one line;
the pages that need a file say so themselves (``present``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

log = logging.getLogger("siaga.web.vendor")

NODE_MODULES = Path(__file__).resolve().parent / "node_modules"
PREFIX = "/static/vendor"
FILES = {
    # The npm package has no browser build: package.json's postinstall bundles one with esbuild.
    "jssip/jssip.min.js": ".siaga/jssip.min.js",
    "swagger-ui/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}

router = APIRouter(include_in_schema=False)


def _file(name: str) -> Path | None:
    path = FILES.get(name)
    return NODE_MODULES / path if path is not None and (NODE_MODULES / path).is_file() else None


def present(*names: str) -> bool:
    return all(_file(name) for name in names)


def missing() -> list[str]:
    return [name for name in FILES if not _file(name)]


def check() -> None:
    """One line at start-up when front-end files are missing; the app serves on without them."""
    if gone := missing():
        log.warning(
            "front-end packages missing in %s (%s): run scripts/bootstrap.sh; /docs and the softphone need them",
            NODE_MODULES,
            ", ".join(gone),
        )


@router.get(PREFIX + "/{name:path}")
def vendor_file(name: str) -> FileResponse:
    path = _file(name)
    if path is None:
        raise HTTPException(404)
    return FileResponse(path)
