"""Driving certdesk in Chromium (Playwright): logging in, the menu, downloads, the wizard's
generate path, uploads, screenshots; and Treezor's part, signing with the local CA."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from certificates import crypto
from tests.support.testca import LocalCA

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PASSWORD = "journey passphrase 2026"


def menu(page: Page, name: str) -> Locator:
    return page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True)


def log_in(page: Page, url: str) -> None:
    page.goto(url + "/login/")
    page.get_by_label("User name or email").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def download(page: Page, folder: Path, click: object) -> Path:
    with page.expect_download() as info:
        click()  # type: ignore[operator]
    path = folder / info.value.suggested_filename
    info.value.save_as(path)
    return path


def sign_with_treezor(ca: LocalCA, csr_path: Path, folder: Path, name: str) -> Path:
    """Treezor's part: sign the CSR and send back the certificate with its chain."""
    certificate = ca.sign(crypto.parse_csr(csr_path.read_bytes()))
    path = folder / name
    path.write_bytes(crypto.certificates_to_pem([certificate, *ca.chain()]))
    return path


def wizard_generate(page: Page, *, fill_subject: bool) -> None:
    page.get_by_role("radio", name="Generate the key here (recommended)").check()
    page.get_by_role("button", name="Next", exact=True).click()
    if fill_subject:
        page.get_by_label("Country").select_option("FR")
        page.get_by_label("State / Province").fill("Brittany")
        page.get_by_label("Locality").fill("Rennes")
        page.get_by_label("Organization Name").fill("Acme")
        page.get_by_label("Organizational Unit").fill("IT")
        page.get_by_label("Common Name").fill("acme.com")
        page.get_by_label("Email").fill("it@acme.com")
    else:
        expect(page.get_by_label("Common Name")).to_have_value("acme.com")
    page.get_by_role("button", name="Next: review").click()
    page.get_by_role("button", name="Create the key and CSR").click()
    expect(page.get_by_text("The key and CSR are ready.")).to_be_visible()


def upload_certificate(page: Page, path: Path) -> None:
    page.get_by_role("link", name="Upload the certificate Treezor sent").click()
    page.get_by_label("Certificate file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("is now in service for")).to_be_visible()


def screenshot(page: Page, name: str) -> Path:
    """Save a screenshot under var/screenshots/ (kept by CI as an artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
