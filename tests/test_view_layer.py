"""Views run no query of their own: what a page reads or writes goes through a service, a feature's
`queries` module or the kit (mel_app/kit/web.py). A query written in a view is the first copy of a
rule (who sees which rows, in which order) that the next page then copies again.

Read from the source with `ast`: in every module that defines routes, no call of `db.<anything>`
(`db.session.execute`, `db.paginate`, `db.session()`...) and no `sa.select/update/delete/insert/text`.
Passing `db.session` or `db.engine` to a service is allowed: the service runs the query.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mel_app"
QUERY_BUILDERS = {"select", "update", "delete", "insert", "text"}
# Modules that define routes but are not pages: the JSON API reads through its own endpoint
# helpers (mel_app/api/), checked by its parity tests against the pages.
NOT_PAGES = {"api"}


def _route_modules() -> list[Path]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.relative_to(PACKAGE).parts[0] in NOT_PAGES:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(_is_route(d) for d in node.decorator_list):
                found.append(path)
                break
    return found


def _is_route(decorator: ast.expr) -> bool:
    call = decorator.func if isinstance(decorator, ast.Call) else decorator
    return isinstance(call, ast.Attribute) and call.attr in {"route", "get", "post", "put", "patch", "delete"}


def _dotted(func: ast.expr) -> list[str]:
    names = []
    while isinstance(func, ast.Attribute):
        names.append(func.attr)
        func = func.value
    if isinstance(func, ast.Name):
        names.append(func.id)
    return names[::-1]


def _queries_in(source: str) -> list[tuple[int, str]]:
    """(line, dotted name) of each query call in the module's source."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        names = _dotted(node.func)
        if names[:1] == ["db"] or (names[:1] == ["sa"] and names[1:2] and names[1] in QUERY_BUILDERS):
            found.append((node.lineno, ".".join(names)))
    return found


def test_the_check_finds_the_route_modules():
    names = {str(p.relative_to(PACKAGE)) for p in _route_modules()}
    expected = {"projects/views.py", "projects/period_views.py", "submissions/views.py", "admin/views.py"}
    assert expected <= names


def test_no_view_runs_a_query_of_its_own():
    found = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name}(...)"
        for path in _route_modules()
        for line, name in _queries_in(path.read_text(encoding="utf-8"))
    ]
    assert not found, "queries in views (move them to a service or queries module):\n" + "\n".join(found)


def test_the_check_sees_a_query_in_a_view():
    source = "@bp.get('/x')\ndef x():\n    return db.session.scalars(sa.select(Project)).all()\n"
    assert [name for _, name in _queries_in(source)] == ["db.session.scalars", "sa.select"]
