"""Accounts in the browser and in the session store: logging in with allauth's form, Chromium's
virtual authenticator (WebAuthn through the DevTools protocol), reading what a session row
holds, and a certificate whose private key certdesk keeps."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.models import Session
from playwright.sync_api import CDPSession, Page

from certificates import services
from certificates.models import Certificate, Environment
from tests.support.subjects import ACME


def log_in_as(page: Page, url: str, login: str, password: str) -> None:
    """Fill allauth's login form (a user name or an address) and submit it; where it leads
    is the test's business."""
    page.goto(url + "/login/")
    # By the fields' names, the form's contract with allauth (their labels are the page's).
    form = page.locator("form:has(input[name=login])")
    form.locator("input[name=login]").fill(login)
    form.locator("input[name=password]").fill(password)
    form.get_by_role("button", name="Log in").click()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()


@dataclass(frozen=True)
class VirtualAuthenticator:
    """A platform authenticator (a phone's or a laptop's) inside Chromium: it answers WebAuthn
    ceremonies by itself, user verified, without a dialog."""

    cdp: CDPSession
    authenticator_id: str

    def credentials(self) -> list[dict[str, Any]]:
        answer = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.authenticator_id}
        )
        credentials: list[dict[str, Any]] = answer["credentials"]
        return credentials


def virtual_authenticator(page: Page) -> VirtualAuthenticator:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    answer = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return VirtualAuthenticator(cdp=cdp, authenticator_id=answer["authenticatorId"])


def session_rows_text() -> str:
    """Everything the session table holds, decoded, as one string to search: what a reader
    of the database (a backup, a replica) would see."""
    return "\n".join(
        json.dumps(session.get_decoded()) + "\n" + session.session_data
        for session in Session.objects.all()
    )


def stashed_request(session_key: str) -> dict[str, Any] | None:
    """The request allauth keeps in the session while the reauthentication waits."""
    data = Session.objects.get(session_key=session_key).get_decoded()
    state = data.get("account_reauthentication_state") or {}
    stashed = state.get("request")
    return json.loads(stashed) if stashed else None


def certificate_with_key(environment: Environment, issue: Callable[..., bytes]) -> Certificate:
    """A certificate in service whose key certdesk generated and keeps (custodians may take
    it), made through the services as the wizard and the upload page would."""
    actor = services.Actor.cli()
    request = services.request_create(
        actor=actor, environment=environment, purpose="mtls", subject=ACME
    )
    return services.certificate_upload(actor=actor, data=issue(request)).certificate
