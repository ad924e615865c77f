"""Outgoing email over SMTP (smtplib), configured by MAIL_*.

With no MAIL_SERVER (the demo), the message is written to the log instead, so invitations and
password resets still work on a laptop: the link is in the server's output.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app


class MailError(Exception):
    """The message could not be handed to the mail server."""


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str


def build(message: Message) -> EmailMessage:
    cfg = current_app.config
    email = EmailMessage()
    email["From"] = cfg["MAIL_DEFAULT_SENDER"]
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain=cfg["MAIL_DEFAULT_SENDER"].rpartition("@")[2] or None)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.body)
    return email


def connect() -> smtplib.SMTP:
    """An open, authenticated connection to MAIL_SERVER (the caller closes it: `with connect()`).

    Raises OSError or smtplib.SMTPException when the server cannot be reached or refuses us."""
    cfg = current_app.config
    context = ssl.create_default_context()
    if cfg["MAIL_USE_SSL"]:
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"], context=context
        )
    else:
        smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=cfg["MAIL_TIMEOUT"])
    try:
        if cfg["MAIL_USE_TLS"] and not cfg["MAIL_USE_SSL"]:
            smtp.starttls(context=context)
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


def send(message: Message) -> None:
    """Send one message; raise MailError when the server refuses it or cannot be reached."""
    cfg = current_app.config
    email = build(message)
    if not cfg["MAIL_SERVER"]:
        current_app.logger.warning(
            "MAIL_SERVER is not set: this message was not sent, here it is instead.\n%s", email.as_string()
        )
        return
    try:
        with connect() as smtp:
            smtp.send_message(email)
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.error("could not send mail to %s: %s", message.to, exc)
        raise MailError(str(exc)) from exc
