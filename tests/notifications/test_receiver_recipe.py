"""The receiver's recipe of docs/guide/notifications.md, run as written against a request
certdesk made: it accepts it, and refuses it replayed late, changed, or seen twice."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from certificates.models import Environment
from certificates.services.notifications import CreatedChannel, Event, notifications_queue
from tests.support.receiver import Receiver

pytestmark = pytest.mark.django_db

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide" / "notifications.md"


def _recipe() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    (code,) = [block for block in blocks if "def verified" in block]
    namespace: dict[str, Any] = {}
    exec(compile(code, str(GUIDE), "exec"), namespace)  # noqa: S102 - the documented snippet
    return namespace["verified"]


def test_the_documented_receiver_accepts_certdesk_and_refuses_replays(
    sandbox: Environment, webhook: CreatedChannel, receiver: Receiver, committed: Any
) -> None:
    verified = _recipe()
    with time_machine.travel("2030-03-01 12:00:00Z", tick=False) as clock:
        committed(
            notifications_queue,
            [Event(environment=sandbox, event="compromise", key="c:1", title="t", text="x")],
        )
        (arrived,) = receiver.requests
        seen: set[str] = set()
        assert verified(webhook.secret, arrived.headers, arrived.body, seen)
        assert not verified(webhook.secret, arrived.headers, arrived.body, seen)  # a repeat
        assert not verified("another secret", arrived.headers, arrived.body, set())
        assert not verified(webhook.secret, arrived.headers, arrived.body + b" ", set())
        clock.shift(timedelta(minutes=6))
        assert not verified(webhook.secret, arrived.headers, arrived.body, set())  # replayed
