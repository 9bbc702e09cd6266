"""A real SMTP server for tests (aiosmtpd on 127.0.0.1) that records what it accepts and can be
told to answer 451 or 550, to answer the end of a message late, to run a fault of the test's
own just after it took a message, or be stopped and started again on the same port."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Callable
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Recorder:
    """The SMTP handler: keeps every accepted message; refuses as it is told."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[EmailMessage] = []
        self.peers: set[tuple[str, int]] = set()
        #: "accept", or an SMTP reply given to every recipient ("451 ...", "550 ...")
        self.answer = "accept"
        #: recipients refused for good, whatever the mode
        self.refused: set[str] = set()
        #: seconds the relay takes to answer the end of a message (it has taken it by then)
        self.data_delay = 0.0
        #: the recipients whose messages are answered late; empty: every one
        self.slow: set[str] = set()
        #: called with each message taken, before the relay answers (a fault at that moment)
        self.on_accept: Callable[[EmailMessage], None] | None = None

    def reset(self) -> None:
        """Forget what arrived and accept everything again, promptly."""
        with self.lock:
            self.messages.clear()
            self.peers.clear()
            self.answer = "accept"
            self.refused.clear()
            self.data_delay = 0.0
            self.slow.clear()
            self.on_accept = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.peers.add(session.peer)
            answer, refused = self.answer, address in self.refused
        if refused:
            return "550 5.1.1 No such mailbox here"
        if answer != "accept":
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = message_from_bytes(envelope.original_content or envelope.content, policy=default)
        with self.lock:
            self.messages.append(msg)
            hook = self.on_accept
            late = self.data_delay if not self.slow or set(envelope.rcpt_tos) & self.slow else 0
        if hook is not None:
            hook(msg)
        if late:
            await asyncio.sleep(late)
        return "250 Message accepted for delivery"

    def ids(self) -> Counter[str]:
        """How many copies of each notification arrived (by X-Citypair-Notification)."""
        with self.lock:
            return Counter(m["X-Citypair-Notification"] for m in self.messages)


class MailServer:
    """A recording SMTP server that can go down and come back on the same port."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.recorder = Recorder()
        self.controller: Controller | None = None

    def start(self) -> MailServer:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     ready_timeout=10)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def running(self) -> bool:
        return self.controller is not None
