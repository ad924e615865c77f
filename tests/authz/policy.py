"""Building blocks of the authorization matrix's policies (see the package docstring)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS: tuple[str, ...] = (
    "anonymous",
    "reporter_same_org",
    "reporter_other_org",
    "reporter_other_project",
    "specialist",
    "specialist_other_project",
    "evaluator",
    "observer",
    "admin",
)

Status = int | tuple[int, ...]
Expectation = dict[str, Status]


def _check(overrides: dict[str, Any]) -> None:
    unknown = set(overrides) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown kinds of user {sorted(unknown)}; known: {KINDS}")


def expect(default: Status, **per_kind: Status) -> Expectation:
    """Every kind gets `default` unless named."""
    _check(per_kind)
    return {kind: per_kind.get(kind, default) for kind in KINDS}


def public(status: Status = 200, **per_kind: Status) -> Expectation:
    return expect(status, **per_kind)


def signed_in(status: Status, **per_kind: Status) -> Expectation:
    return expect(status, **{"anonymous": 302, **per_kind})


def admin_only(status: Status, **per_kind: Status) -> Expectation:
    return expect(403, **{"anonymous": 302, "admin": status, **per_kind})


def project(**per_kind: Status) -> Expectation:
    """A route of `world.project`: anonymous 302, non-members 404, members 403 unless given."""
    defaults = {"anonymous": 302, "reporter_other_project": 404, "specialist_other_project": 404}
    return expect(403, **{**defaults, **per_kind})


@dataclass(frozen=True)
class Route:
    get: Expectation | None = None
    post: Expectation | None = None
    args: Callable[[Any], dict[str, Any]] | None = None
    data: Callable[[Any], dict[str, Any]] | dict[str, Any] = field(default_factory=dict)

    def for_method(self, method: str) -> Expectation | None:
        return {"GET": self.get, "POST": self.post}[method]


def derived_unsupported() -> Expectation:
    """A method the route does not accept: the login comes first for anonymous users."""
    return signed_in(405)


def _policy_modules():
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if info.name.startswith("policies_"):
            yield importlib.import_module(f"{__package__}.{info.name}")


def load_policies() -> dict[str, Route]:
    policies: dict[str, Route] = {}
    for module in _policy_modules():
        for endpoint, route in module.POLICIES.items():
            if endpoint in policies:
                raise ValueError(f"{endpoint} has a policy in two modules (second: {module.__name__})")
            policies[endpoint] = route
    return policies


def world_extensions() -> list[Callable[..., None]]:
    return [module.extend_world for module in _policy_modules() if hasattr(module, "extend_world")]
