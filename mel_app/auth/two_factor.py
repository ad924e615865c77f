"""Two-factor sign-in: time-based one-time codes (RFC 6238) and one-time recovery codes.

Services flush; the view commits. The secret and the recovery codes never reach the audit trail
or the logs: `User.totp_secret` is excluded from capture, recovery codes are stored only as salted
hashes (in a table that is not captured row by row), and the events say what happened, never
with what.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from mel_app import audit
from mel_app.auth import throttle
from mel_app.auth.passwords import verify_password
from mel_app.auth.services import Throttled
from mel_app.extensions import db
from mel_app.kit.errors import DomainError
from mel_app.models import RecoveryCode, User, utcnow

STEP_SECONDS = 30  # what every authenticator app uses
CODE_DIGITS = 6
# Codes of the step before and after the current one are accepted too, for a phone whose clock
# is a little off and for the seconds it takes to type.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: the codes are read from paper. Ten characters of 31 give about 50 bits each.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10


class CodeRejected(DomainError, ValueError):
    """A code (or password) is refused; str() is the message for the user."""

    http_status = 422


# --- enrolment ---------------------------------------------------------------------------------


def begin_enrolment(user: User, *, actor: User) -> None:
    """Give the user a new secret that waits for its first code. Flushes.

    An enrolment that was never confirmed is replaced; an active second factor is left alone.
    """
    if user.two_factor_enabled:
        raise CodeRejected(_("Two-factor sign-in is already on for this account."))
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    audit.record(db.session, "user.two_factor_setup_started", actor=actor, target=user)


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(
        name=user.email, issuer_name=current_app.config["TWO_FACTOR_ISSUER"]
    )


# Light modules around the code: scanners need this quiet zone.
QR_BORDER = 4


@dataclass(frozen=True)
class QRCode:
    """The enrolment QR code, drawn by the template as one SVG path over a white square."""

    size: int  # modules per side, quiet zone included
    path: str  # one rectangle per run of dark modules in a row


def qr_code(user: User) -> QRCode:
    """The otpauth:// address as a QR code, made on the server: no script, no image service."""
    rows = [list(row) for row in segno.make(provisioning_uri(user), error="m").matrix_iter(border=QR_BORDER)]
    runs = []
    for y, row in enumerate(rows):
        x = 0
        while x < len(row):
            if not row[x]:
                x += 1
                continue
            start = x
            while x < len(row) and row[x]:
                x += 1
            runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
    return QRCode(size=len(rows), path="".join(runs))


def readable_key(secret: str) -> str:
    """The secret in groups of four, as people type it into an app."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(user: User, code: str, *, actor: User) -> list[str]:
    """Switch two-factor sign-in on once the first code matches; return the new recovery codes.

    Flushes. The code's time step counts as used, so it cannot sign anyone in afterwards.
    """
    if user.two_factor_enabled:
        raise CodeRejected(_("Two-factor sign-in is already on for this account."))
    if not user.totp_secret:
        raise CodeRejected(_("The set-up has expired. Please start it again."))
    step = _matching_step(user.totp_secret, code)
    if step is None:
        raise CodeRejected(_wrong_code_message())
    user.totp_last_step = step
    user.totp_enabled_at = utcnow()
    audit.record(db.session, "user.two_factor_enabled", actor=actor, target=user)
    return issue_recovery_codes(user, actor=actor)


# --- codes -------------------------------------------------------------------------------------


def current_step(now: float | None = None) -> int:
    return int((time.time() if now is None else now) // STEP_SECONDS)


def _normalise_code(code: str | None) -> str:
    return "".join((code or "").split())


def _matching_step(secret: str, code: str | None, *, now: float | None = None) -> int | None:
    """The time step whose code this is (within the allowed drift), or None."""
    code = _normalise_code(code)
    if len(code) != CODE_DIGITS or not code.isdigit():
        return None
    hotp = pyotp.HOTP(secret, digits=CODE_DIGITS)
    step = current_step(now)
    candidates = [step]
    for drift in range(1, DRIFT_STEPS + 1):
        candidates += [step - drift, step + drift]
    for candidate in candidates:
        if hmac.compare_digest(hotp.at(candidate), code):
            return candidate
    return None


def _use_step(user: User, step: int) -> bool:
    """Mark the time step as used; False if it, or a later one, was used already.

    One conditional UPDATE: of two requests carrying the same code at once, exactly one wins.
    """
    won = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        # updated_at kept as it is: bookkeeping, like the last-seen time, not a change to report
        .values(totp_last_step=step, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.expire(user, ["totp_last_step"])
    return won == 1


def _wrong_code_message() -> str:
    return _(
        "That code is not right. Type the 6 digits your authenticator app shows now; if it still "
        "fails, check that the time on your phone is set automatically."
    )


def _check_code(user: User, code: str | None) -> str | None:
    """Use the code up if it is right and new; else say why not (the message for the user)."""
    step = _matching_step(user.totp_secret or "", code) if user.two_factor_enabled else None
    if step is None:
        return _wrong_code_message()
    if not _use_step(user, step):
        return _(
            "That code has already been used. Wait for the next one from your authenticator app "
            "(a new code appears every 30 seconds)."
        )
    return None


# --- recovery codes ----------------------------------------------------------------------------


def _normalise_recovery_code(text: str | None) -> str:
    return "".join(ch for ch in (text or "").lower() if ch.isalnum())


def _hash_recovery_code(code: str, salt: str) -> str:
    return f"{salt}${hashlib.sha256(f'{salt}:{code}'.encode()).hexdigest()}"


def _recovery_code_matches(stored: str, code: str) -> bool:
    salt, _sep, _digest = stored.partition("$")
    return hmac.compare_digest(stored, _hash_recovery_code(code, salt))


def issue_recovery_codes(user: User, *, actor: User) -> list[str]:
    """Ten new recovery codes, shown once (the earlier ones stop working). Flushes."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _i in range(RECOVERY_CODE_LENGTH))
        for _n in range(RECOVERY_CODE_COUNT)
    ]
    now = utcnow()
    for code in codes:
        db.session.add(
            RecoveryCode(
                user_id=user.id, code_hash=_hash_recovery_code(code, secrets.token_hex(8)), created_at=now
            )
        )
    db.session.flush()
    audit.record(
        db.session,
        "user.recovery_codes_issued",
        actor=actor,
        target=user,
        reason=f"{RECOVERY_CODE_COUNT} new codes; earlier codes no longer work",
    )
    half = RECOVERY_CODE_LENGTH // 2
    return [f"{code[:half]}-{code[half:]}" for code in codes]


def remaining_recovery_codes(user_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
        )
    )


def _use_recovery_code(user: User, text: str | None) -> bool:
    code = _normalise_recovery_code(text)
    if len(code) != RECOVERY_CODE_LENGTH or not user.two_factor_enabled:
        return False
    rows = db.session.execute(
        sa.select(RecoveryCode.id, RecoveryCode.code_hash).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).all()
    for row in rows:
        if _recovery_code_matches(row.code_hash, code):
            # Conditional, so that the same code sent twice at once signs in only once.
            return (
                db.session.execute(
                    sa.update(RecoveryCode)
                    .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
                    .values(used_at=utcnow())
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
    return False


# --- the sign-in step and re-authentication ----------------------------------------------------


def _throttle_key(user: User) -> str:
    return throttle.key_for("second-factor", str(user.id))


def _attempt(user: User) -> throttle.Attempt:
    """Count this code (or password) before it is checked; `succeeded()` uncounts it."""
    cfg = current_app.config
    return throttle.attempt(
        [(_throttle_key(user), cfg["TWO_FACTOR_FAILURES_PER_ACCOUNT"])], window=cfg["LOGIN_FAILURE_WINDOW"]
    )


def check_second_factor(
    user: User, *, code: str | None = None, recovery_code: str | None = None, remote_addr: str | None
) -> int | None:
    """The second step of signing in: a code from the app, or one of the recovery codes. Flushes.

    Raises Throttled while the account has too many recent wrong codes (without looking at the
    code), and CodeRejected for a wrong or reused code; both are audited and a wrong code is
    counted. Returns the number of recovery codes left when one was used, else None; the caller
    completes the sign-in, whose event says how it was made.
    """
    actor = audit.actor_of(user, remote_addr)
    attempt = _attempt(user)
    if attempt.blocked is not None:
        audit.record(
            db.session, "user.login_throttled", actor=actor, target=user, reason="too many wrong codes"
        )
        raise Throttled(attempt.blocked)
    if recovery_code is not None:
        if _use_recovery_code(user, recovery_code):
            attempt.succeeded()
            throttle.clear(_throttle_key(user))
            return remaining_recovery_codes(user.id)
        problem, reason = (
            _("That recovery code is not right, or it has already been used."),
            "wrong recovery code",
        )
    else:
        problem = _check_code(user, code)
        if problem is None:
            attempt.succeeded()
            throttle.clear(_throttle_key(user))
            return None
        reason = "wrong second-factor code"
    audit.record(db.session, "user.login_failed", actor=actor, target=user, reason=reason)
    raise CodeRejected(problem)


def confirm_identity(user: User, proof: str, *, remote_addr: str | None) -> None:
    """Before a change to the second factor: the account's password, or a current code.

    Throttled like the sign-in step. Flushes (the failure count).
    """
    attempt = _attempt(user)
    if attempt.blocked is not None:
        raise Throttled(attempt.blocked)
    candidate = _normalise_code(proof)
    if user.two_factor_enabled and len(candidate) == CODE_DIGITS and candidate.isdigit():
        problem = _check_code(user, candidate)
        if problem is None:
            attempt.succeeded()
            return
    else:
        matches, _rehash = verify_password(user.password_hash, proof or "")
        if matches:
            attempt.succeeded()
            return
        problem = _("That is neither your password nor a current code from your authenticator app.")
    raise CodeRejected(problem)


# --- switching off -----------------------------------------------------------------------------


def has_second_factor(user: User) -> bool:
    """Switched on, or an enrolment under way."""
    return user.totp_secret is not None or user.totp_enabled_at is not None


def _switch_off(user: User) -> None:
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def turn_off(user: User, *, actor: User) -> None:
    """The user's own choice (the caller checked that their role allows it and who they are)."""
    _switch_off(user)
    audit.record(db.session, "user.two_factor_disabled", actor=actor, target=user)


def reset(user: User, *, actor: User, reason: str = "") -> None:
    """An administrator's reset (a lost phone): the user sets it up again. Flushes."""
    _switch_off(user)
    audit.record(db.session, "user.two_factor_reset", actor=actor, target=user, reason=reason.strip() or None)
