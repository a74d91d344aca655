"""An authenticator app for the tests: RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits), written
from the RFC rather than borrowed from allauth, so a test checks allauth's codes against an
independent implementation, as a phone app would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from datetime import UTC, datetime

PERIOD = 30
DIGITS = 6


def code_at(secret: str, at: float) -> str:
    """The code an authenticator app shows at Unix time ``at`` for a base32 ``secret``."""
    key = base64.b32decode(secret.replace(" ", "").upper(), casefold=True)
    counter = struct.pack(">Q", int(at) // PERIOD)
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    (value,) = struct.unpack(">I", digest[offset : offset + 4])
    return f"{(value & 0x7FFFFFFF) % 10**DIGITS:0{DIGITS}d}"


def code_now(secret: str) -> str:
    return code_at(secret, time.time())


def next_window(after: float | None = None) -> datetime:
    """The start of the next 30 s window (plus a second): travel there with time-machine
    (``tick=True``) and a code typed within half a minute is still the one the server expects
    (allauth accepts the current window only), with no waiting."""
    now = time.time() if after is None else after
    return datetime.fromtimestamp((int(now) // PERIOD + 1) * PERIOD + 1, tz=UTC)
