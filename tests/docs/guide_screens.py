"""The screenshots the documentation shows, each made by tests/e2e/test_guide_screenshots.py
from the running application (so the guide shows the pages as they are), saved under
docs/assets/screenshots/<name>.png. A page of docs/ (or the README) that shows an image of that
folder must name one of these; tests/docs/test_docs.py checks it."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
GUIDE_SCREENSHOTS_DIR = DOCS / "assets" / "screenshots"

# name -> what it shows (also the image's alternative text in the guide).
GUIDE_SCREENSHOTS: dict[str, str] = {
    "first-run": "The first-run page asking for the setup code and the first administrator",
    "dashboard-first-run": "The dashboard of a new installation",
    "settings-company": "Settings: the company profile",
    "settings-environment": "Settings: an environment's TAM, team addresses and Treezor CA",
    "settings-invite": "Settings: inviting someone with a role per environment",
    "settings-people": "Settings: People, with an invitation not yet accepted",
    "wizard-environment": "New request: environment and purpose",
    "wizard-key-source": "New request: the key source",
    "wizard-subject": "New request: the subject fields of Treezor's table",
    "wizard-review": "New request: the review before the key and CSR are made",
    "request-ready": "A request whose key and CSR are ready",
    "send-to-tam": "Send to the TAM: the preview of the email",
    "upload-certificate": "Upload the certificate Treezor sent",
    "certificate": "A certificate's page",
    "dashboard": "The dashboard with a certificate in service",
    "dashboard-phone": "The dashboard on a 390 px wide phone",
    "report-compromise": "Report a compromised key",
    "incident": "A certificate after its key was reported compromised",
    "certificate-list": "The list of certificates",
    "audit-log": "The audit log",
    "outbox": "The outbox: every email certdesk sent or tries to send",
    "profile": "Your profile",
    "calendar": "The calendar feed page",
}


def screenshot_path(name: str) -> Path:
    return GUIDE_SCREENSHOTS_DIR / f"{name}.png"
