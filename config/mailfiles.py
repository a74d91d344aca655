"""The embedded default's mail backend: Django's file backend, with owner-only files.

Emails under var/mail/ carry names, addresses and links; Django's backend creates them with the
process umask (often world-readable). This one creates the folder 0700 and each file 0600.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.mail.backends.filebased import EmailBackend

from config.environment import PRIVATE_FILE_MODE, private_folder


class PrivateFileEmailBackend(EmailBackend):
    """Writes each batch of messages to a file only its owner can read."""

    # Binary and None between batches, as Django's code has it (the stubs say TextIO).
    stream: IO[bytes] | None  # type: ignore[assignment]

    def __init__(self, *args: Any, file_path: str | None = None, **kwargs: Any) -> None:
        folder = file_path if file_path is not None else getattr(settings, "EMAIL_FILE_PATH", None)
        if folder:
            # Before Django's makedirs, which would create it with the umask.
            private_folder(Path(folder))
        super().__init__(*args, file_path=file_path, **kwargs)

    def open(self) -> bool:
        if self.stream is not None:
            return False
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        # Django's own naming (timestamp and instance id), which the stubs do not declare.
        filename: str = self._get_filename()  # type: ignore[attr-defined]
        fd = os.open(filename, flags, PRIVATE_FILE_MODE)
        # The umask can only remove bits; an existing file (a reused name) is tightened too.
        os.fchmod(fd, PRIVATE_FILE_MODE)
        self.stream = os.fdopen(fd, "ab")
        return True
