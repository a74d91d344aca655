"""Keeping private keys out of log lines and error reports (rule 3 of DESIGN.md).

A key must never appear in a log line, an error page or an error email, whatever went wrong and
wherever the text came from (a library that echoes its input in an exception message, a form
value, a local variable of a crashing frame). Three layers, all configured in config/settings.py:

* :class:`RedactPrivateKeys`, a ``logging.Filter`` on every handler, rewrites a record's message,
  arguments, exception text and stack before any handler formats it;
* :class:`RedactingExceptionReporterFilter` (``DEFAULT_EXCEPTION_REPORTER_FILTER``) hides any frame
  variable or POST value that carries key material, beyond Django's ``sensitive_variables`` and
  ``sensitive_post_parameters`` (which only hide what a developer remembered to name);
* :class:`RedactingExceptionReporter` (``DEFAULT_EXCEPTION_REPORTER``) redacts the finished error
  report, whose exception message neither of the others can reach.

The outgoing email guard (certificates.emails) stays behind all three: an error email that still
carries a key is refused, not sent.

This module is imported while logging is configured, before the app registry is ready: it must
not import models.
"""

from __future__ import annotations

import logging
import re
from collections.abc import ItemsView
from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.utils.safestring import SafeString, mark_safe
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from certificates import crypto

REDACTED = "[private key redacted]"
WITHHELD = "[log message withheld: it could not be checked for private keys]"

# Any PEM armour of a private key (PKCS#1 "RSA PRIVATE KEY", PKCS#8, "ENCRYPTED PRIVATE KEY",
# "EC", "OPENSSH", PGP's "PRIVATE KEY BLOCK"), up to its END line, or to the end of the text when
# the END line is missing (a truncated message). The dashes are optional, as in crypto.detect:
# pasted text loses them. Fixed-width optional dashes keep the search linear on long dash runs.
_LABEL = r"(?:[A-Z0-9]+ ){0,4}PRIVATE KEY(?: BLOCK)?"
_PEM_PRIVATE_BLOCK = re.compile(
    rf"(?:-{{5}})?BEGIN {_LABEL}(?:-{{5}})?.*?(?:(?:-{{5}})?END {_LABEL}(?:-{{5}})?|\Z)",
    re.DOTALL,
)
_FORMATTER = logging.Formatter()


def redact(text: str) -> str:
    """``text`` with every PEM private-key block replaced by ``[private key redacted]``.

    Key material without PEM armour (base64 of a DER key, an OpenSSH or PuTTY key) has no
    markers to cut at: the lines that carry it are replaced, or the whole text when the material
    spans lines that do not give it away one by one.
    """
    cleaned = _PEM_PRIVATE_BLOCK.sub(REDACTED, text)
    if not carries_private_key(cleaned):
        return cleaned
    lines = cleaned.splitlines(keepends=True)
    cleaned = "".join(
        REDACTED + line[len(line.rstrip("\r\n")) :] if carries_private_key(line) else line
        for line in lines
    )
    return REDACTED if carries_private_key(cleaned) else cleaned


def carries_private_key(value: object) -> bool:
    """True if ``value``, or its repr for other objects, holds private-key material."""
    if isinstance(value, str):
        data = value.encode("utf-8", "replace")
    elif isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    else:
        try:
            data = repr(value).encode("utf-8", "replace")
        except Exception:  # a broken __repr__ shows nothing either
            return False
    return crypto.contains_private_key_material(data)


class RedactPrivateKeys(logging.Filter):
    """Rewrite a log record so that no handler ever formats private-key material.

    The record is changed in place: the handlers that see it after this one (the console, the
    admins' email, a test's capture) get the redacted text too. A record is never dropped.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            _redact_record(record)
        except Exception:  # a raising filter would lose the record, or print it raw
            record.msg, record.args = WITHHELD, None
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _redact_record(record: logging.LogRecord) -> None:
    message = record.getMessage()
    cleaned = redact(message)
    if cleaned != message:
        # The formatted message replaces the template and its arguments, which held the key.
        record.msg, record.args = cleaned, None
    if record.exc_info and record.exc_info[0] is not None:
        text = record.exc_text or _FORMATTER.formatException(record.exc_info)
        cleaned = redact(text)
        if cleaned != text:
            # Formatters print exc_text when it is set, instead of formatting exc_info again.
            record.exc_text = cleaned
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


class RedactingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus: any frame variable or POST value carrying a key is hidden.

    Unlike Django's own cleansing, which stops when DEBUG is on, this part always applies: a
    key must not appear on a debug page either.
    """

    def get_post_parameters(self, request: HttpRequest | None) -> Any:
        parameters = super().get_post_parameters(request)
        if not isinstance(parameters, MultiValueDict):
            return parameters
        tainted = [
            name
            for name, values in parameters.lists()
            if any(carries_private_key(value) for value in values)
        ]
        if not tainted:
            return parameters
        cleansed = parameters.copy()
        for name in tainted:
            cleansed[name] = self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: Any
    ) -> ItemsView[str, Any]:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return {
            name: self.cleansed_substitute if carries_private_key(value) else value
            for name, value in variables
        }.items()


class RedactingExceptionReporter(ExceptionReporter):
    """Django's error report (email and debug page) with PEM private-key blocks redacted.

    The exception message is printed as it is, and a library may echo its input there (a key
    it failed to parse); the filter above cannot reach it, so the finished text is redacted.
    """

    # The marker that replaces a key is plain text: the redacted HTML is as safe as before.
    def get_traceback_text(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_text()))  # noqa: S308

    def get_traceback_html(self) -> SafeString:
        return mark_safe(redact(super().get_traceback_html()))  # noqa: S308
