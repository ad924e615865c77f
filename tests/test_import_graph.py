"""The shape of mel_app's imports: no cycle among modules, and the core never imports a feature.

Read from the source with `ast`, without importing anything.

- Cycles: among module-level imports (including those under a module-level `if` or `try`, but
  not under `if TYPE_CHECKING:`), which are the ones Python runs while importing a module. An
  import inside a function runs when the function is called, once every module is loaded; the
  app factory imports every feature that way on purpose.
- The core: every module of mel_app outside the feature packages, except the few listed in
  `COMPOSITION` (they put features together). A core module imports no feature at all, at module
  level or inside a function: the features build on the core, never the other way round.

`from package import name` counts as an import of `package.name` when that is a module, else of
`package` (importing a submodule runs its package's `__init__`, which Python allows to be
half-done at that moment, so that edge alone is no cycle).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mel_app"

FEATURES = frozenset(
    {
        "account",
        "admin",
        "api",
        "auth",
        "evaluations",
        "exports",
        "main",
        "members",
        "notifications",
        "printing",
        "projects",
        "public",
        "submissions",
    }
)

# Modules outside the feature packages that put features together, and so may import them.
COMPOSITION = {
    "mel_app": "the app factory registers every feature's blueprint",
    "mel_app.cli": "the command line offers features' commands",
    "mel_app.demo": "the demonstration data goes through the features' services",
    "mel_app.enum_labels": "the labels of every enumeration, features' own included",
    "mel_app.errors": "an error page keeps the draft a feature was sent",
    "mel_app.templating": "the template globals include the sign-out form",
    "mel_app.audit.naming": "the trail pages name records as their features do",
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _imported(node: ast.AST, module: str, path: Path) -> set[str]:
    """The mel_app modules an import statement loads."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = module if path.name == "__init__.py" else module.rpartition(".")[0]
            parts = package.split(".")
            parts = parts[: len(parts) - node.level + 1]
            base = ".".join(parts + ([node.module] if node.module else []))
        for alias in node.names:
            names.append(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name.startswith("mel_app") and name != module:
            found.add(name)
    return found


def _module_level(tree: ast.Module, module: str, path: Path) -> set[str]:
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            found.update(_imported(node, module, path))
            if isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
                for handler in node.handlers:
                    visit(handler.body)

    visit(tree.body)
    return found


def _all_levels(tree: ast.Module, module: str, path: Path) -> set[str]:
    skipped = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and _is_type_checking(node)
        for statement in node.body
        for child in ast.walk(statement)
    }
    return {
        name for node in ast.walk(tree) if id(node) not in skipped for name in _imported(node, module, path)
    }


@functools.cache
def _trees() -> dict[str, ast.Module]:
    # Parsed when a test asks, not when the module is collected: every worker of every run
    # collects this file, and parsing the package takes seconds.
    return {module: ast.parse(path.read_text(encoding="utf-8")) for module, path in MODULES.items()}


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in FEATURES else None


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_modules_of_mel_app_import_each_other_without_a_cycle():
    module_level = {module: _module_level(tree, module, MODULES[module]) for module, tree in _trees().items()}
    assert _cycles(module_level) == []


def test_a_cycle_would_be_seen():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_imports_no_feature():
    core = [module for module in MODULES if _feature(module) is None and module not in COMPOSITION]
    assert {"mel_app.workflow", "mel_app.permissions", "mel_app.models", "mel_app.audit"} <= set(core)
    offences = {
        module: sorted(
            name for name in _all_levels(_trees()[module], module, MODULES[module]) if _feature(name)
        )
        for module in core
    }
    assert {module: names for module, names in offences.items() if names} == {}


def test_the_composition_list_names_modules_that_exist():
    assert set(COMPOSITION) <= set(MODULES)
