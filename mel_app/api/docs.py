"""A readable page of the API's OpenAPI document, rendered on the server from the same document
(no script, no assets from elsewhere: the app's own stylesheet only). Public, like the document."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1")


@bp.get("/docs")
def docs():
    spec = current_app.extensions["mel_api"].spec.to_dict()
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations.append({"method": method.upper(), "path": path, **op})
    return render_template(
        "api/docs.html",
        spec=spec,
        operations=operations,
        schemas=sorted(spec.get("components", {}).get("schemas", {}).items()),
    )
