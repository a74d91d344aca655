"""``python -m drill.smtpsink PORT FOLDER``: an SMTP server that accepts every message and
writes each one to FOLDER/<n>.eml; the drill counts them to see whether an email left."""

from __future__ import annotations

import itertools
import socketserver
import sys
import threading
from pathlib import Path

_numbers = itertools.count(1)
_lock = threading.Lock()


class SinkHandler(socketserver.StreamRequestHandler):
    folder: Path

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 drill sink")
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-drill sink")
                self.reply("250 8BITMIME")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                lines = []
                while (data := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                    lines.append(data)
                with _lock:
                    path = self.folder / f"{next(_numbers):04d}.eml"
                path.write_bytes(b"".join(lines))
                self.reply("250 stored")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self.reply("250 ok")


def main(port: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    SinkHandler.folder = folder
    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer(("127.0.0.1", port), SinkHandler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))
