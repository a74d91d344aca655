"""Property-based testing of the API from its own schema (Schemathesis), against a live server:
every operation, with a ``read`` token and a ``request`` token, with data that fits the schema
and data that does not. No answer may be a server error or contradict the schema (status code,
content type, headers, body), and an operation may not answer without its token.

The number of examples per operation is bounded so that the run stays well under a minute; the
figures (operations, cases, failures) are printed at the end (``pytest -s`` or the captured
output of the test shows them) and written to ``var/schemathesis.txt``.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from django.contrib.auth.models import User
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from pytest_django.live_server_helper import LiveServer
from schemathesis.core.result import Ok

from certificates import services
from certificates.models import Environment, Membership, Role
from certificates.services import Actor
from tests.support.api import Person
from tests.support.subjects import ACME

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

EXAMPLES_PER_OPERATION = 8
FIGURES = Path(__file__).resolve().parents[2] / "var" / "schemathesis.txt"

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_headers_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.ignored_auth,
]


def _world(sandbox: Environment, issue: Callable[..., bytes]) -> dict[str, str]:
    """Sandbox with a TAM, a certificate in service and a ready request; a viewer's ``read``
    token and a requester's ``read`` + ``request`` token."""
    sandbox.tam_emails = ["tam@treezor.example"]
    sandbox.save(update_fields=["tam_emails"])
    fulfilled = services.request_create(
        actor=Actor.cli(),
        environment=sandbox,
        purpose="mtls",
        subject=replace(ACME, common_name="fuzz.acme.example"),
    )
    services.certificate_upload(actor=Actor.cli(), data=issue(fulfilled))
    services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="signature", subject=ACME
    )
    tokens = {}
    for name, role, scopes in (
        ("viewer", Role.VIEWER, ("read",)),
        ("requester", Role.REQUESTER, ("read", "request")),
    ):
        user = User.objects.create_user(name, f"{name}@example.com")
        Membership.objects.create(user=user, environment=sandbox, role=role)
        tokens[scopes[-1]] = Person(user).token(*scopes, environments=[sandbox], name="fuzz")
    return tokens


def _fuzz(
    strategy: Any, secret: str, count: Callable[[int], None], base_url: str, session: Any
) -> Callable[[], None]:
    """One Hypothesis test: cases of ``strategy`` sent with ``secret``, every check run."""

    @given(case=strategy)
    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Any]) -> None:
        response = case.call_and_validate(
            base_url=base_url,
            session=session,
            headers={"Authorization": f"Bearer {secret}"},
            checks=CHECKS,
        )
        count(response.status_code)

    return run


def test_the_api_keeps_to_its_schema_under_schemathesis(
    live_server: LiveServer,
    settings: Any,
    sandbox: Environment,
    issue: Callable[..., bytes],
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings.CERTDESK_API_RATE_LIMIT = 0  # thousands of calls a minute here
    tokens = _world(sandbox, issue)
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/schema")
    session = requests.Session()
    session.headers["Connection"] = "close"
    operations = 0
    cases: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            pytest.fail(f"The schema has an operation Schemathesis cannot read: {result}")
        operation = result.ok()
        operations += 1
        for scope, secret in tokens.items():
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):
                label = f"{operation.label} [{scope} token, {mode.value}]"

                def count(status: int, label: str = label) -> None:
                    cases[label] += 1
                    statuses[status] += 1

                run = _fuzz(
                    operation.as_strategy(generation_mode=mode),
                    secret,
                    count,
                    live_server.url,
                    session,
                )
                try:
                    run()
                except (Exception, BaseExceptionGroup) as error:  # every failure, reported together
                    failures.append(f"{label}: {error}"[:3000])
    # Keep-alive connections end here, and with them the server threads holding a database
    # connection each (PostgreSQL would otherwise keep the test database busy at teardown).
    session.close()
    total = sum(cases.values())
    answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    figures = (
        f"Schemathesis: {operations} operations, {total} cases "
        f"({EXAMPLES_PER_OPERATION} examples at most per operation, token and mode; answers "
        f"{answers}), {len(failures)} failures"
    )
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    FIGURES.write_text(figures + "\n")
    with capsys.disabled():
        sys.stdout.write(f"\n{figures}\n")
    assert operations >= 13
    assert failures == [], "\n\n".join(failures)
