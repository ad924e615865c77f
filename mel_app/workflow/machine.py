"""What every state machine of the app is made of: a declarative table and one conditional UPDATE.

A machine is a table `Action -> Transition(sources, target)`. Asking it for the target of an
action in a state either answers the target or refuses with a `WorkflowError` (409: the state
does not allow it). The change itself is one conditional UPDATE
(`... WHERE id = :id AND version = :v AND <state as read>`): of two people acting on the same
version exactly one changes the row; the caller tells the other who came first.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypeVar

import sqlalchemy as sa

from mel_app import locking
from mel_app.kit.errors import DomainError
from mel_app.models import Evaluation, Scorecard, Submission

# The rows a machine moves: each has an id, a version and a state.
Versioned: TypeAlias = Submission | Evaluation | Scorecard

S = TypeVar("S", bound=enum.Enum)
A = TypeVar("A", bound=enum.Enum)


class WorkflowError(DomainError):
    """A rule of the workflow refused the action (wrong state, reason missing, incomplete...).

    `http_status`: 409 when the state does not allow the action, 422 when the content does not.
    """

    def __init__(self, message: str = "", *, http_status: int = 409) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Transition(Generic[S]):
    sources: frozenset[S]
    target: S


class Machine(Generic[S, A]):
    """A state machine: its transition table, and the words that explain a refusal."""

    def __init__(
        self,
        name: str,
        states: type[S],
        table: Mapping[A, Transition[S]],
        refusal: Callable[[S, A], str],
    ) -> None:
        self.name = name
        self.states = states
        self.table = table
        self._refusal = refusal

    def allowed(self, state: S, action: A) -> bool:
        return state in self.table[action].sources

    def target(self, state: S, action: A) -> S:
        """The state `action` leads to from `state`; refused (409) when the table has no such arrow."""
        if not self.allowed(state, action):
            raise WorkflowError(self._refusal(state, action))
        return self.table[action].target

    def pairs(self) -> Iterator[tuple[S, A]]:
        """Every (state, action) pair, allowed or not, for tests and documentation."""
        for state in self.states:
            for action in self.table:
                yield state, action


def conditional_update(
    model: type[Versioned],
    obj: Versioned,
    *,
    expected_version: int,
    conditions: tuple[sa.ColumnElement[bool], ...] = (),
    values: Mapping[str, object] | None = None,
) -> bool:
    """The one UPDATE that changes a row of a state machine: the app's optimistic lock
    (`mel_app.locking.claim`) with the state as a further condition. It bumps the version (and
    sets `values`) only if nobody changed the row since `expected_version` and `conditions` still
    hold.

    True when this request won; the caller then refuses the loser with who came first."""
    try:
        locking.claim(obj, expected_version, *conditions, values=dict(values or {}), conflict=_Lost)
    except _Lost:
        return False
    return True


class _Lost(Exception):
    """Another request changed the row first (the caller words the refusal)."""

    def __init__(self, obj: object) -> None:
        super().__init__()
