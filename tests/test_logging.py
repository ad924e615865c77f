"""User-supplied values in logs are escaped: nobody can forge a log line."""

from __future__ import annotations

import logging

from mel_app.log import EscapingFormatter, escape


def test_newlines_and_control_characters_are_escaped():
    assert escape("a\nb\r\x1b[31m") == "a\\x0ab\\x0d\\x1b[31m"


def test_a_forged_line_stays_on_one_line():
    formatter = EscapingFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord(
        "mel",
        logging.WARNING,
        __file__,
        1,
        "login failed for %s",
        ("eve@example.org\nINFO user admin logged in",),
        None,
    )
    line = formatter.format(record)
    assert "\n" not in line
    assert line == "WARNING login failed for eve@example.org\\x0aINFO user admin logged in"


def test_the_app_logs_through_the_escaping_formatter(app):
    assert app.logger.handlers
    assert all(isinstance(h.formatter, EscapingFormatter) for h in app.logger.handlers)
