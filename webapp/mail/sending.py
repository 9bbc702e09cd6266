"""Sending e-mail: the pooled SMTP sender and the embedded mode's file sink."""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import threading
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from flask import current_app

from webapp.safety import write_private

#: a pooled connection idle longer than this is closed rather than trusted
SMTP_KEEPALIVE_SECONDS = 30.0
#: relays often cap the messages of one connection; reconnect before they refuse
SMTP_MESSAGES_PER_CONNECTION = 100


class Sender(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class DeliveryUncertain(smtplib.SMTPException):
    """The end of the message went out but no reply came back: the relay may have accepted it,
    so sending it again could deliver a second copy."""


class _SMTP(smtplib.SMTP):
    """DATA as smtplib speaks it, with RFC 5321's long wait for the final reply (section
    4.5.3.2.6) instead of the command timeout, and a note of how far the message got, which
    decides whether trying again is safe."""

    #: the DATA command was given
    in_data = False
    #: the message and its final dot went out: from here the relay may have accepted it
    end_sent = False
    #: seconds to wait for the body to go out and the final reply to come back
    data_timeout: float | None = None

    def data(self, msg: bytes) -> tuple[int, bytes]:
        self.in_data = True
        self.putcmd("data")
        code, reply = self.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        # A line starting with a dot gets another one (RFC 5321 section 4.5.2).
        body = re.sub(rb"(?m)^\.", b"..", msg)
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.sock.settimeout(self.data_timeout)
        try:
            self.send(body + b".\r\n")
            self.end_sent = True
            return self.getreply()
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)


class _SMTPSSL(_SMTP, smtplib.SMTP_SSL):
    pass


def describe(exc: BaseException) -> str:
    """An SMTP or network error as people read it: the relay's reply decoded ("451 4.3.0 Try
    again later", each with its address when several recipients were refused), else the
    error's kind and words."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = {address: _reply(code, text)
                   for address, (code, text) in exc.recipients.items()}
        if len(replies) == 1:
            return next(iter(replies.values()))
        return "; ".join(f"{address}: {reply}" for address, reply in replies.items())
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply(exc.smtp_code, exc.smtp_error)
    words = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {words}" if words else type(exc).__name__


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    # Lines of a multi-line reply are joined: the outbox shows it on one line.
    return " ".join([str(code), *text.split()])


class _Connection:
    def __init__(self, smtp: smtplib.SMTP):
        self.smtp = smtp
        self.pid = os.getpid()
        self.sent = 0
        self.used_at = time.monotonic()


class SMTPSender:
    """Sends through an SMTP relay, keeping one open connection per thread of each process.

    A connection that went stale between two messages (the relay closed it, or restarted) is
    replaced and the message tried once more, but only when the relay had not yet seen the
    message body: after that point a retry could deliver it twice.
    """

    def __init__(self, cfg: dict[str, Any]):
        self.cfg = cfg
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()

    def _connect(self) -> _Connection:
        cfg = self.cfg
        cls = _SMTPSSL if cfg["SMTP_SSL"] else _SMTP
        smtp = cls(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT"])
        smtp.data_timeout = cfg["SMTP_DATA_TIMEOUT"]
        try:
            smtp.ehlo()
            if cfg["SMTP_STARTTLS"]:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if cfg["SMTP_USERNAME"]:
                smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        conn = _Connection(smtp)
        with self._lock:
            self._open.add(conn)
        return conn

    def _discard(self, conn: _Connection, polite: bool = False) -> None:
        with self._lock:
            self._open.discard(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        # A connection inherited from a parent process is not ours to say goodbye on.
        if polite and conn.pid == os.getpid():
            with contextlib.suppress(smtplib.SMTPException, OSError):
                conn.smtp.quit()
        conn.smtp.close()

    def _reusable(self) -> _Connection | None:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            return None
        fresh = (conn.pid == os.getpid() and conn.smtp.sock is not None
                 and conn.sent < SMTP_MESSAGES_PER_CONNECTION
                 and time.monotonic() - conn.used_at < SMTP_KEEPALIVE_SECONDS)
        if not fresh:
            self._discard(conn, polite=conn.pid == os.getpid())
            return None
        return conn

    def send(self, message: EmailMessage) -> None:
        """Send one message; SMTP errors are raised for the caller to judge."""
        conn = self._reusable()
        if conn is not None:
            try:
                self._transfer(conn, message)
                return
            except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
                stale = not isinstance(exc, smtplib.SMTPResponseException) or exc.smtp_code == 421
                if not stale or conn.smtp.in_data:
                    self._after_error(conn, exc)
                    raise
                # The relay let an idle connection go before it saw the message: a fresh
                # connection may try again without any risk of a second copy.
                self._discard(conn)
            except BaseException as exc:
                self._after_error(conn, exc)
                raise
        conn = self._local.conn = self._connect()
        try:
            self._transfer(conn, message)
        except BaseException as exc:
            self._after_error(conn, exc)
            raise

    def _after_error(self, conn: _Connection, exc: BaseException) -> None:
        # After a refusal smtplib resets the transaction and the connection stays usable.
        refused = isinstance(exc, (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused))
        if not refused or conn.smtp.sock is None:
            self._discard(conn)

    def _transfer(self, conn: _Connection, message: EmailMessage) -> None:
        smtp = conn.smtp
        smtp.in_data = smtp.end_sent = False
        conn.used_at = time.monotonic()
        try:
            smtp.send_message(message)
        except Exception as exc:
            # A reply is an answer; anything else after the final dot leaves it open.
            if smtp.end_sent and not isinstance(exc, smtplib.SMTPResponseException):
                raise DeliveryUncertain(
                    f"no reply to the end of the message ({describe(exc)}): the relay may "
                    f"have accepted it") from exc
            raise
        conn.sent += 1
        conn.used_at = time.monotonic()

    def close(self) -> None:
        """Say goodbye on every connection this sender holds (a worker shutting down)."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            self._discard(conn, polite=True)


class SinkSender:
    """Writes each message as an .eml file: the embedded mode's mail sink."""

    def __init__(self, folder: str):
        self.folder = Path(folder)

    def send(self, message: EmailMessage) -> None:
        """Write the message atomically: a reader never sees half a file."""
        name = message["Message-ID"].strip("<>").replace("/", "_")
        tmp = self.folder / f".{name}.tmp"
        write_private(tmp, bytes(message))  # reset and confirmation links are in there
        tmp.replace(self.folder / f"{name}.eml")


_senders: dict[tuple[Any, ...], SMTPSender] = {}
_senders_lock = threading.Lock()
#: a sender that replaces the configured one in this process (a simulation's recorder)
_override: Sender | None = None


def use_sender(replacement: Sender | None) -> None:
    """Send through ``replacement`` in this process from now on (None: as configured)."""
    global _override
    _override = replacement


def sender() -> Sender:
    """The sender the configuration asks for; SMTP senders are kept for the process's life."""
    if _override is not None:
        return _override
    cfg = current_app.config
    if not cfg["SMTP_HOST"]:
        return SinkSender(cfg["MAIL_SINK_DIR"])
    key = tuple(cfg[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_SSL", "SMTP_STARTTLS",
                                 "SMTP_USERNAME", "SMTP_PASSWORD", "SMTP_TIMEOUT",
                                 "SMTP_DATA_TIMEOUT"))
    with _senders_lock:
        if key not in _senders:
            _senders[key] = SMTPSender({k: cfg[k] for k in cfg if k.startswith("SMTP_")})
        return _senders[key]


def close_connections() -> None:
    """Close every pooled SMTP connection of this process."""
    with _senders_lock:
        senders = list(_senders.values())
    for s in senders:
        s.close()
