"""A tiny SMTP server on loopback for the tests: it refuses the first N messages with 451, then
accepts, and keeps what it accepted. Enough of RFC 5321 for smtplib (Django's SMTP backend)."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Sequence
from email import message_from_bytes
from email.message import Message
from smtplib import SMTPServerDisconnected
from types import TracebackType

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend


class _Handler(socketserver.StreamRequestHandler):
    timeout = 10
    server: _Server

    def reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")

    def handle(self) -> None:
        listener = self.server.listener
        self.reply("220 certdesk-test ESMTP")
        while True:
            line = self.rfile.readline()
            if not line:
                return
            verb = line[:4].decode("ascii", "replace").upper()
            if verb == "EHLO":
                self.reply("250-certdesk-test")
                self.reply("250 8BITMIME")
            elif verb in {"HELO", "MAIL", "RCPT", "RSET", "NOOP"}:
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data()
                if listener.accept(data):
                    self.reply("250 OK: queued")
                else:
                    self.reply("451 4.3.0 Try again later")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _read_data(self) -> bytes:
        lines = []
        while True:
            line = self.rfile.readline()
            if not line or line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b"..") else line)  # dot-unstuffing
        return b"".join(lines)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    listener: SMTPListener


class SMTPListener:
    """``with SMTPListener(refuse=2) as smtp:``; ``smtp.port``, ``smtp.messages``."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.refused = 0
        self.received: list[bytes] = []
        self._changed = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.listener = self
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def accept(self, data: bytes) -> bool:
        with self._changed:
            if self.refused < self.refuse:
                self.refused += 1
                self._changed.notify_all()
                return False
            self.received.append(data)
            self._changed.notify_all()
            return True

    @property
    def messages(self) -> list[Message]:
        with self._changed:
            return [message_from_bytes(data) for data in self.received]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until ``count`` messages arrived (a real worker sends them), or time out."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.received) >= count, timeout)

    def __enter__(self) -> SMTPListener:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()


class RefusingBackend(BaseEmailBackend):
    """A mail server that is always unreachable."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        raise SMTPServerDisconnected("Connection unexpectedly closed")
