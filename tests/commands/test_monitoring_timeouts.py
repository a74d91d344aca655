"""The monitoring commands bound each statement on PostgreSQL (issue 13, point 4): a locked or
overloaded database gives list_certificates' "cannot be read" (3), not a check that never ends.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import QuerySet

from certificates.management.commands import list_certificates
from certificates.models import Certificate

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        row = cursor.fetchone()
    assert row is not None
    return str(row[0])


def test_list_certificates_gives_up_on_a_statement_that_runs_too_long(
    postgres: None, settings: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query slower than CERTDESK_MONITORING_STATEMENT_TIMEOUT_SECONDS is cancelled by the
    server: exit 3 with the reason on one line; the connection keeps its own timeout after."""
    settings.CERTDESK_MONITORING_STATEMENT_TIMEOUT_SECONDS = 0.2  # type: ignore[attr-defined]
    before = _statement_timeout()

    def stuck_query(*, now: object) -> QuerySet[Certificate]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(30)")  # as a query waiting on a lock would
        return Certificate.objects.none()

    monkeypatch.setattr(list_certificates, "certificates_with_status", stuck_query)
    with pytest.raises(CommandError) as refused:
        call_command("list_certificates")
    assert refused.value.returncode == list_certificates.EXIT_UNKNOWN
    assert "statement timeout" in str(refused.value)
    assert _statement_timeout() == before


def test_other_commands_keep_the_connection_s_statement_timeout(postgres: None) -> None:
    """Only the monitoring commands are bounded: a command doing real work (here: one that only
    reads, list_environments-like) is not cut short by the monitoring limit."""
    seen: list[str] = []
    from certificates.management.commands import _common

    with _common.monitoring_statement_timeout("list_certificates"):
        seen.append(_statement_timeout())
    with _common.monitoring_statement_timeout("upload_certificate"):
        seen.append(_statement_timeout())
    assert seen == ["30s", _statement_timeout()]
