"""Accounts: sign-in, sessions, passwords, one-time links."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def public(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view that anyone may reach without signing in (the login hook lets it through)."""
    view.is_public = True
    return view
