"""The virus-scan hook for evidence files, and a client for ClamAV's clamd.

`EVIDENCE_SCANNER` names a callable by its dotted path (`package.module:function` or
`package.module.function`); it is given the bytes and the file's name and answers with a
`ScanResult`. Unset (the default), files are not scanned. A scanner that fails, times out or
answers something else counts as an error: the file is refused, never stored unchecked.

`clamd_scan` is the shipped scanner: it streams the bytes to clamd with the INSTREAM command over
the socket named by `CLAMD_ADDRESS` (`unix:/path/to/clamd.ctl` or `tcp:host:port`), with the
standard library only.
"""

from __future__ import annotations

import importlib
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from flask import current_app

log = logging.getLogger(__name__)

Verdict = Literal["clean", "infected", "error"]


@dataclass(frozen=True)
class ScanResult:
    verdict: Verdict
    signature: str = ""  # what the scanner found, when infected
    detail: str = ""  # why it could not tell, when an error (for the log only)

    @classmethod
    def clean(cls) -> ScanResult:
        return cls("clean")

    @classmethod
    def infected(cls, signature: str) -> ScanResult:
        return cls("infected", signature=signature or "unknown")

    @classmethod
    def error(cls, detail: str) -> ScanResult:
        return cls("error", detail=detail)


Scanner = Callable[[bytes, str], ScanResult]


class ScannerConfigError(ValueError):
    """EVIDENCE_SCANNER does not name a callable."""


@lru_cache(maxsize=8)
def load_scanner(path: str) -> Scanner:
    """The callable named by `path` (`module:attr` or `module.attr`)."""
    module_name, sep, attr = path.partition(":")
    if not sep:
        module_name, _dot, attr = path.rpartition(".")
    if not module_name or not attr:
        raise ScannerConfigError(f"EVIDENCE_SCANNER={path!r} is not a dotted path to a callable")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ScannerConfigError(f"EVIDENCE_SCANNER={path!r} cannot be loaded: {exc}") from exc
    if not callable(target):
        raise ScannerConfigError(f"EVIDENCE_SCANNER={path!r} is not callable")
    return target


def configured_scanner() -> Scanner | None:
    path = (current_app.config.get("EVIDENCE_SCANNER") or "").strip()
    return load_scanner(path) if path else None


def scan(scanner: Scanner, data: bytes, filename: str) -> ScanResult:
    """Run the scanner; anything but a clean or infected answer is an error."""
    try:
        result = scanner(data, filename)
    except Exception as exc:  # a broken scanner must refuse the file, not break the form
        log.exception("evidence scanner failed on %r", filename)
        return ScanResult.error(f"{type(exc).__name__}: {exc}")
    if not isinstance(result, ScanResult) or result.verdict not in ("clean", "infected", "error"):
        log.error("evidence scanner gave an unexpected answer for %r: %r", filename, result)
        return ScanResult.error(f"unexpected answer {result!r}")
    if result.verdict == "error":
        log.warning("evidence scanner could not check %r: %s", filename, result.detail)
    elif result.verdict == "infected":
        log.warning("evidence scanner found %s in %r", result.signature, filename)
    return result


# ---------------------------------------------------------------------------------------------
# ClamAV's clamd, INSTREAM command

CHUNK = 64 * 1024


def _connect(address: str, timeout: float) -> socket.socket:
    kind, _sep, where = address.partition(":")
    if kind == "unix" and where:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(where)
        except OSError:
            sock.close()
            raise
        return sock
    if kind == "tcp" and where:
        host, _colon, port = where.rpartition(":")
        return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    raise ValueError(f"CLAMD_ADDRESS={address!r} is neither unix:/path nor tcp:host:port")


def instream(address: str, data: bytes, *, timeout: float = 30.0) -> ScanResult:
    """Send `data` to clamd at `address` and read its verdict."""
    try:
        with _connect(address, timeout) as sock:
            # The "z" form: the command and the reply end with a NUL byte.
            sock.sendall(b"zINSTREAM\0")
            for start in range(0, len(data), CHUNK):
                piece = data[start : start + CHUNK]
                sock.sendall(struct.pack("!L", len(piece)) + piece)
            sock.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                received = sock.recv(4096)
                if not received:
                    break
                reply += received
    except (OSError, ValueError) as exc:
        return ScanResult.error(f"clamd at {address}: {exc}")
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    # "stream: OK", "stream: Eicar-Test-Signature FOUND", "INSTREAM size limit exceeded. ERROR"
    status = text.split(":", 1)[1].strip() if ":" in text else text
    if status == "OK":
        return ScanResult.clean()
    if status.endswith(" FOUND"):
        return ScanResult.infected(status[: -len(" FOUND")].strip())
    return ScanResult.error(f"clamd answered {text!r}")


def clamd_scan(data: bytes, filename: str) -> ScanResult:
    """The scanner for EVIDENCE_SCANNER=mel_app.submissions.scanning:clamd_scan."""
    address = current_app.config.get("CLAMD_ADDRESS") or ""
    if not address:
        return ScanResult.error("CLAMD_ADDRESS is not set")
    return instream(address, data, timeout=float(current_app.config.get("CLAMD_TIMEOUT", 30)))
