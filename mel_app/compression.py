"""Pages compressed by the app itself, for servers without a reverse proxy that compresses.

`COMPRESS_RESPONSES` (on by default) gzips HTML and JSON answers of at least `COMPRESS_MIN_BYTES`
for clients that accept gzip, at `COMPRESS_LEVEL` (6: about 1.4 ms of CPU for the largest page,
150 KB to 13 KB; level 1 takes half that for 18 KB; docs/PERFORMANCE.md). Every HTML and JSON
answer carries `Vary: Accept-Encoding`. Files (downloads, exports, static files) are left alone:
they are streamed, already compressed, or served by the proxy. Behind a proxy that compresses,
switching this off moves that work to the proxy; the answers are the same.
"""

from __future__ import annotations

import gzip

from flask import Flask, Response, request

COMPRESSIBLE = frozenset({"text/html", "application/json"})


def init_compression(app: Flask) -> None:
    if not app.config.get("COMPRESS_RESPONSES"):
        return
    level = int(app.config.get("COMPRESS_LEVEL", 6))
    minimum = int(app.config.get("COMPRESS_MIN_BYTES", 1024))

    @app.after_request
    def compress(response: Response) -> Response:
        if response.mimetype not in COMPRESSIBLE:
            return response
        response.vary.add("Accept-Encoding")
        if (
            response.direct_passthrough
            or response.is_streamed
            or "Content-Encoding" in response.headers
            or not (200 <= response.status_code < 300 or response.status_code >= 400)
            or request.method == "HEAD"
            or not request.accept_encodings["gzip"]
        ):
            return response
        body = response.get_data()
        if len(body) < minimum:
            return response
        response.set_data(gzip.compress(body, compresslevel=level, mtime=0))
        response.headers["Content-Encoding"] = "gzip"
        return response
