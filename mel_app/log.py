"""Logging that cannot be forged: user-supplied values are escaped, one event per line."""

from __future__ import annotations

import logging

_ESCAPES = {i: f"\\x{i:02x}" for i in range(32) if i not in (9,)} | {0x7F: "\\x7f"}


def escape(value: object) -> str:
    """Control characters (CR, LF, ESC, ...) become visible escapes, so no value can start a new line."""
    return str(value).translate(_ESCAPES)


class EscapingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = escape(record.getMessage())
        record = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None})
        formatted = super().format(record)
        # Tracebacks keep their lines, but stay in the server log (never in a response).
        return formatted


def init_logging(app) -> None:
    formatter = EscapingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in app.logger.handlers or []:
        handler.setFormatter(formatter)
    if not app.logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(formatter)
        app.logger.addHandler(handler)
    app.logger.setLevel(logging.INFO if not app.debug else logging.DEBUG)
