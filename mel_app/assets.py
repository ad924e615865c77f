"""Static assets with fingerprinted URLs and long cache lifetimes.

Every `url_for('static', filename=...)` gets `?v=<content hash>` added, so a browser may keep the
file for a year (`immutable`) and still fetch the new one the moment it changes. A request
whose fingerprint is missing or stale gets the ordinary revalidating answer instead.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from flask import Flask, request, url_for
from werkzeug.security import safe_join

ONE_YEAR = 365 * 24 * 3600
IMMUTABLE = f"public, max-age={ONE_YEAR}, immutable"


class Fingerprints:
    """Content hashes of the static files, recomputed only when a file changes on disk."""

    def __init__(self, folder: str):
        self.folder = folder
        self._cache: dict[str, tuple[int, int, str]] = {}

    def __call__(self, filename: str) -> str | None:
        path = safe_join(self.folder, filename)
        if path is None:
            return None
        try:
            stat = os.stat(path)
        except OSError:
            return None
        cached = self._cache.get(filename)
        if cached and cached[0] == stat.st_mtime_ns and cached[1] == stat.st_size:
            return cached[2]
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()[:12]
        self._cache[filename] = (stat.st_mtime_ns, stat.st_size, digest)
        return digest


def init_assets(app: Flask) -> None:
    fingerprint = Fingerprints(app.static_folder or "")

    @app.url_defaults
    def add_fingerprint(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "v" not in values and values.get("filename"):
            digest = fingerprint(values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def cache_fingerprinted_assets(response):
        if request.endpoint == "static" and response.status_code in (200, 304):
            filename = (request.view_args or {}).get("filename", "")
            wanted = request.args.get("v")
            if wanted and wanted == fingerprint(filename):
                response.headers["Cache-Control"] = IMMUTABLE
        return response

    def static_url(filename: str) -> str:
        """The fingerprinted URL of a file under static/ (the same as url_for('static', ...))."""
        return url_for("static", filename=filename)

    app.jinja_env.globals["static_url"] = static_url
