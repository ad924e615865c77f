"""A real SMTP server for tests (aiosmtpd on 127.0.0.1, a free port), and helpers to read its mail."""

from __future__ import annotations

import email
import email.policy
import re
import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"


class _Controller(Controller):
    """aiosmtpd's Controller, bound to a free port chosen by the system (port 0)."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class MailServer:
    def __init__(self, controller: _Controller, inbox: _Inbox):
        self.controller = controller
        self.inbox = inbox

    @property
    def port(self) -> int:
        return self.controller.port

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.inbox.messages

    def wait_for(self, to: str, count: int = 1, timeout: float = 5.0) -> list[email.message.EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [m for m in self.inbox.messages if m["To"] == to]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(
            f"no message to {to} within {timeout}s; got {[m['To'] for m in self.inbox.messages]}"
        )


def body(message: email.message.EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: email.message.EmailMessage) -> str:
    """The path of the first http(s) link in the message (the test client needs no host)."""
    match = re.search(r"https?://[^/\s]+(/\S+)", body(message))
    assert match, f"no link in:\n{body(message)}"
    return match.group(1)


@pytest.fixture(name="mail_server")
def mail_server_fixture(app) -> Iterator[MailServer]:
    """A running SMTP server; the app sends its mail there. Import it into a test module to use it."""
    inbox = _Inbox()
    controller = _Controller(inbox, hostname="127.0.0.1", port=0)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_USE_TLS=False)
    try:
        yield MailServer(controller, inbox)
    finally:
        controller.stop()
