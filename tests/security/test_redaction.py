"""Rule 3: no private key in a log line, an error email, an error page or a frame dump.

The end-to-end tests make key export crash the way a library would if it echoed its input in
its error message, during a real download request, and read everything that came out of it.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core import mail
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.views.debug import ExceptionReporter

from certificates import crypto, logfilters, services, vault
from certificates.logfilters import REDACTED, RedactingExceptionReporterFilter, RedactPrivateKeys
from certificates.models import Certificate, Environment, SigningRequest
from certificates.services import Actor
from tests.support.manage import run_manage
from tests.support.subjects import ACME

CLI = Actor.cli()
KEY_PEM = crypto.private_key_to_pem(crypto.generate_private_key()).decode("ascii")
KEY_LINES = KEY_PEM.strip().splitlines()[1:-1]
SUBSTITUTE = RedactingExceptionReporterFilter.cleansed_substitute


def leaks(text: str, lines: list[str] = KEY_LINES) -> list[str]:
    """What of a private key ``text`` still shows: its armour or any base64 line of its body."""
    found = ["PRIVATE KEY"] if "PRIVATE KEY" in text else []
    return found + [line for line in lines if line in text]


def record(msg: object, *args: object, exc_info: Any = None) -> logging.LogRecord:
    return logging.LogRecord("certificates", logging.ERROR, __file__, 1, msg, args, exc_info)


def formatted(entry: logging.LogRecord) -> str:
    assert RedactPrivateKeys().filter(entry) is True
    return logging.Formatter("%(message)s").format(entry)


# --- the logging filter ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("key: %s", (KEY_PEM,)),
        ("key: %r", (KEY_PEM.encode(),)),
        ("key: %(pem)s", ({"pem": KEY_PEM},)),
        (f"inline {KEY_PEM} then more", ()),
        ("cut short: " + KEY_PEM[:300], ()),
        ("no dashes: " + KEY_PEM.replace("-----", ""), ()),
    ],
    ids=["str-arg", "bytes-arg", "dict-arg", "in-message", "no-end-line", "no-dashes"],
)
def test_the_filter_redacts_a_pem_key_in_the_message_and_its_arguments(
    msg: str, args: tuple[object, ...]
) -> None:
    """A key passed as an argument (str, bytes, in a dict), written into the message, cut
    short with no END line, or with its dashes lost, never reaches the formatted line."""
    text = formatted(record(msg, *args))
    assert leaks(text) == []
    assert REDACTED in text


@pytest.mark.parametrize(
    "label", ["RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY"]
)
def test_every_pem_label_is_redacted_and_the_rest_of_the_line_kept(label: str) -> None:
    """Any label of private-key armour goes; the text around it stays readable."""
    body = "\n".join(KEY_LINES)
    pem = f"-----BEGIN {label}-----\n{body}\n-----END {label}-----\n"
    text = formatted(record("before %s after", pem))
    assert text == f"before {REDACTED}\n after"


def test_key_material_without_armour_is_redacted_too() -> None:
    """The base64 of a DER key, in one long token, is caught by structure, not by markers."""
    der = base64.b64encode(base64.b64decode("".join(KEY_LINES))).decode()
    text = formatted(record("first line\nparse failed on %s\nlast line", der))
    assert leaks(text) == []
    assert text == f"first line\n{REDACTED}\nlast line"


def test_an_exception_that_echoes_a_key_is_redacted_in_the_traceback() -> None:
    """The formatted exception (exc_text), which handlers print below the message, is redacted;
    the rest of the traceback is kept."""
    try:
        raise ValueError(f"Could not deserialize key data: {KEY_PEM.encode()!r}")
    except ValueError:
        entry = record("Internal Server Error: %s", "/certificates/1/key/", exc_info=sys.exc_info())
    text = formatted(entry)
    assert leaks(text) == []
    assert "Traceback (most recent call last)" in text
    assert f"ValueError: Could not deserialize key data: b'{REDACTED}" in text


def test_a_clean_record_is_left_alone() -> None:
    """Records without keys keep their template and arguments (for any later handler)."""
    entry = record("request %s took %d ms", "/healthz", 12)
    assert RedactPrivateKeys().filter(entry) is True
    assert (entry.msg, entry.args) == ("request %s took %d ms", ("/healthz", 12))


def test_a_record_that_cannot_be_checked_is_withheld_not_dropped() -> None:
    """Arguments that do not fit the message would make a handler print them raw on stderr;
    the filter withholds the text instead, and the record still goes out."""
    entry = record("one %s and %s", KEY_PEM)
    text = formatted(entry)
    assert text == logfilters.WITHHELD


def test_every_handler_and_the_root_logger_carry_the_filter() -> None:
    """The filter is on each handler of LOGGING (and the root), and on the live handlers."""
    config: dict[str, Any] = settings.LOGGING
    for name, handler in config["handlers"].items():
        assert "redact_private_keys" in handler.get("filters", []), name
    assert "redact_private_keys" in config["root"]["filters"]
    live = logging.getLogger().handlers
    console = [h for h in live if h.get_name() == "console"]
    assert console
    assert any(isinstance(f, RedactPrivateKeys) for f in console[0].filters)


def test_celery_worker_and_beat_keep_the_redacting_handlers() -> None:
    """Celery would replace the root logger's handlers with its own, unfiltered ones."""
    from config.celery import app

    assert app.conf.worker_hijack_root_logger is False


@pytest.mark.slow
def test_error_reports_go_to_the_admins_named_in_the_environment(tmp_path: Any) -> None:
    """CERTDESK_ADMINS="Name <address>, ..." becomes ADMINS; an entry without an address
    stops the process with an example of the format."""
    show = "from django.conf import settings; import json; print(json.dumps(settings.ADMINS))"
    admins = "Ops <ops@example.com>, Alice Martin <alice@example.com>"
    result = run_manage(tmp_path, "shell", "-v", "0", "-c", show, CERTDESK_ADMINS=admins)
    assert json.loads(result.stdout) == [
        ["Ops", "ops@example.com"],
        ["Alice Martin", "alice@example.com"],
    ], result.stderr
    none = run_manage(tmp_path, "shell", "-v", "0", "-c", show)
    assert json.loads(none.stdout) == []
    wrong = run_manage(tmp_path, "check", CERTDESK_ADMINS="Ops")
    assert wrong.returncode != 0
    assert "CERTDESK_ADMINS: 'Ops' has no email address" in wrong.stderr


# --- the exception reporter filter -----------------------------------------------------------


def test_post_values_carrying_a_key_are_hidden_in_error_reports() -> None:
    """A key pasted in any form field (rule 6 refuses it; a crash must not show it either)."""
    request = RequestFactory().post(
        "/certificates/upload/", {"certificate_text": KEY_PEM, "environment": "sandbox"}
    )
    parameters = RedactingExceptionReporterFilter().get_post_parameters(request)
    assert parameters["certificate_text"] == SUBSTITUTE
    assert parameters["environment"] == "sandbox"


def _crash_with(**local_values: object) -> Any:
    def crashing() -> None:
        values = dict(local_values)  # noqa: F841 - the frame's variables are the subject
        pem = local_values.get("pem")  # noqa: F841
        note = local_values.get("note")  # noqa: F841
        raise RuntimeError("boom")

    try:
        crashing()
    except RuntimeError:
        return sys.exc_info()
    raise AssertionError("unreachable")


def frame_variables(exc_info: Any, function: str) -> dict[str, Any]:
    """The variables of ``function``'s frame as Django's error report shows them."""
    reporter = ExceptionReporter(None, *exc_info)
    frames = [f for f in reporter.get_traceback_frames() if f["function"] == function]
    assert frames, f"no frame of {function}"
    return dict(frames[-1]["vars"])


@pytest.mark.parametrize("debug", [False, True])
def test_frame_variables_carrying_a_key_are_hidden_even_with_debug_on(
    settings: Any, debug: bool
) -> None:
    """Any variable whose value holds a key is hidden, including on DEBUG's page, where
    Django itself hides nothing."""
    settings.DEBUG = debug
    shown = frame_variables(_crash_with(pem=KEY_PEM.encode(), note="fine"), "crashing")
    assert shown["pem"] == SUBSTITUTE
    assert shown["values"] == SUBSTITUTE  # a dict holding the key
    assert shown["note"] == "fine"


# --- sensitive_variables on the functions that handle keys and passphrases -------------------


@pytest.fixture
def mtls(sandbox: Environment) -> SigningRequest:
    return services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)


def test_the_generated_key_never_shows_in_a_request_create_crash(
    sandbox: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """request_create holds the new private key in a variable: Django's report hides it."""

    def failing_csr(*args: object, **kwargs: object) -> None:
        raise RuntimeError("CSR could not be built")

    monkeypatch.setattr(crypto, "build_csr", failing_csr)
    with pytest.raises(RuntimeError) as crash:
        services.request_create(actor=CLI, environment=sandbox, purpose="mtls", subject=ACME)
    shown = frame_variables((crash.type, crash.value, crash.tb), "request_create")
    assert shown["private_key"] == SUBSTITUTE


def test_the_plaintext_never_shows_in_a_vault_crash() -> None:
    """vault.encrypt's plaintext (a key) is hidden whatever it looks like."""
    with pytest.raises(TypeError) as crash:
        vault.encrypt(123456789, bound_to="fingerprint")  # type: ignore[arg-type]
    shown = frame_variables((crash.type, crash.value, crash.tb), "encrypt")
    assert shown["plaintext"] == SUBSTITUTE


def test_the_passphrase_never_shows_in_an_export_key_crash(
    mtls: SigningRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """The PKCS#12 passphrase of ``manage.py export_key`` is hidden in a crash report."""

    def failing_export(**kwargs: object) -> None:
        raise RuntimeError("export failed")

    monkeypatch.setenv("CERTDESK_PKCS12_PASSPHRASE", "a secret passphrase")
    monkeypatch.setattr(services, "key_export", failing_export)
    with pytest.raises(RuntimeError) as crash:
        call_command("export_key", str(mtls.pk), "--out", str(tmp_path), "--pkcs12")
    shown = frame_variables((crash.type, crash.value, crash.tb), "run")
    assert shown["passphrase"] == SUBSTITUTE


def test_the_typed_passphrase_never_shows_in_a_prompt_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The passphrase typed at export_key's prompt is hidden if the second prompt fails."""
    from certificates.management.commands import export_key

    answers = iter(["a secret passphrase"])

    def getpass(prompt: str) -> str:
        try:
            return next(answers)
        except StopIteration:
            raise RuntimeError("terminal gone") from None

    monkeypatch.setattr("getpass.getpass", getpass)
    with pytest.raises(RuntimeError) as crash:
        export_key._prompt_passphrase()
    shown = frame_variables((crash.type, crash.value, crash.tb), "_prompt_passphrase")
    assert shown["first"] == SUBSTITUTE


# --- end to end: a crash inside key export during a download ---------------------------------


@pytest.fixture
def certificate(mtls: SigningRequest, issue: Callable[..., bytes]) -> Certificate:
    return services.certificate_upload(actor=CLI, data=issue(mtls)).certificate


@pytest.fixture
def custodian(make_member: Callable[..., User], sandbox: Environment) -> Client:
    """A custodian who just logged in (no password re-entry needed), seeing 500 pages."""
    client = Client(raise_request_exception=False)
    client.force_login(make_member("custodian", sandbox))
    return client


@pytest.fixture
def console_output() -> Iterator[io.StringIO]:
    """What the configured console handler writes, with its own formatter and filters."""
    console = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert isinstance(console, logging.StreamHandler)
    stream = io.StringIO()
    previous = console.setStream(stream)
    yield stream
    console.setStream(previous)


def stored_key_lines(request: SigningRequest) -> list[str]:
    assert request.key.encrypted_private_key is not None
    pem = vault.decrypt(request.key.encrypted_private_key, bound_to=request.key.fingerprint)
    return pem.decode("ascii").strip().splitlines()[1:-1]


@pytest.mark.parametrize("echo", ["pem", "der-base64"])
@pytest.mark.parametrize("debug", [False, True])
def test_a_crash_inside_key_export_leaks_the_key_nowhere(
    settings: Any,
    caplog: pytest.LogCaptureFixture,
    console_output: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    custodian: Client,
    certificate: Certificate,
    echo: str,
    debug: bool,
) -> None:
    """Key export crashes after decrypting, in a library that echoes the key in its error:
    the user gets the 500 page (or the debug page), the administrators an error email, the
    logs a traceback, and none of them carries the key's armour or a line of its base64."""
    settings.DEBUG = debug
    settings.ADMINS = [("Ops", "ops@example.com")]
    lines = stored_key_lines(certificate.signing_request)

    def echoing_parser(data: bytes) -> None:
        # The PEM as repr() shows it, or its body as one base64 token (the DER key, unarmoured).
        shown = repr(data) if echo == "pem" else "".join(data.decode().splitlines()[1:-1])
        raise ValueError(f"Could not deserialize key data: {shown}")

    monkeypatch.setattr(crypto, "load_private_key", echoing_parser)
    caplog.set_level(logging.ERROR, logger="django.request")
    response = custodian.post(
        f"/certificates/{certificate.pk}/key/",
        {"format": "pkcs12", "passphrase": "correct horse battery staple"},
    )

    assert response.status_code == 500
    page = response.content.decode()
    assert leaks(page, lines) == []
    if debug:
        assert "ValueError" in page  # Django's debug page, redacted
    else:
        assert "Something went wrong on our side" in page
        [email] = mail.outbox  # the guard would have refused it had it carried the key
        assert email.to == ["ops@example.com"]
        assert "ValueError" in email.body
        assert "Internal Server Error: /certificates/" in email.subject
        assert leaks(f"{email.subject}\n{email.body}", lines) == []
        assert "correct horse battery staple" not in email.body

    assert "ValueError" in caplog.text
    assert leaks(caplog.text, lines) == []
    assert leaks("\n".join(r.getMessage() for r in caplog.records), lines) == []
    assert "Internal Server Error" in console_output.getvalue()
    assert leaks(console_output.getvalue(), lines) == []
