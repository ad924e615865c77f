"""argon2id password hashing with parameters from the app's config."""

from __future__ import annotations

import contextlib

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["ARGON2_TIME_COST"],
        memory_cost=cfg["ARGON2_MEMORY_COST"],
        parallelism=cfg["ARGON2_PARALLELISM"],
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


# A real hash to verify against when the account does not exist, so an unknown email costs
# the same time as a wrong password and does not reveal that the account is missing.
_DUMMY_HASH: dict[tuple, str] = {}


def verify_password(stored_hash: str | None, password: str) -> tuple[bool, bool]:
    """Return (matches, needs_rehash)."""
    hasher = _hasher()
    if not stored_hash:
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism)
        if key not in _DUMMY_HASH:
            _DUMMY_HASH[key] = hasher.hash("not-a-real-password")
        stored_hash = _DUMMY_HASH[key]
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(stored_hash, password)
        return False, False
    try:
        hasher.verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, hasher.check_needs_rehash(stored_hash)


# zxcvbn estimates how many guesses a password needs, from lists of common passwords, names and
# words, and keyboard patterns. Score 3 means about 10^8 guesses: "safely unguessable" online.
MIN_STRENGTH_SCORE = 3
_ZXCVBN_MAX = 72  # zxcvbn refuses longer input; the first 72 characters decide anyway


def password_problem(password: str, *, user_inputs: tuple[str, ...] = ()) -> str | None:
    """Why this password may not be used, or None. No composition rules (NIST SP 800-63B)."""
    from flask_babel import gettext as _
    from zxcvbn import zxcvbn

    cfg = current_app.config
    minimum, maximum = cfg["PASSWORD_MIN_LENGTH"], cfg["PASSWORD_MAX_LENGTH"]
    if len(password) < minimum:
        return _("Use at least %(num)d characters. A few unrelated words are easy to remember.", num=minimum)
    if len(password) > maximum:
        return _("Use at most %(num)d characters.", num=maximum)
    inputs = [value for value in user_inputs if value]
    for value in list(inputs):
        parts = value.replace("@", " ").replace(".", " ").split()
        inputs.extend(parts)
        inputs.append(value.split("@")[0])  # an email's local part, "grace.wanjiru"
        inputs.append("".join(parts))  # "gracewanjiru" as well as "grace" and "wanjiru"
    if zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)["score"] < MIN_STRENGTH_SCORE:
        return _(
            "This password is too common or too easy to guess (for example, it contains your name "
            "or a well-known password). Try a few unrelated words."
        )
    return None
