"""create_request and import_request: CSRs made by certdesk, and CSRs brought by the user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from certificates.models import AuditEvent, Key, SigningRequest
from tests.support.commands import assert_one_line_refusal, run
from tests.support.openssl import openssl
from tests.support.subjects import SUBJECT_ARGS

pytestmark = pytest.mark.django_db

ACME_SUBJ = "/C=FR/ST=Brittany/L=Rennes/O=Acme/CN=acme.com/emailAddress=it@acme.com"


@pytest.fixture(scope="module")
def own_csr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSR made the way Treezor's page says, with the real `openssl` (key made once)."""
    folder = tmp_path_factory.mktemp("own-csr")
    openssl("genrsa", "-out", "key.pem", "2048", cwd=folder)
    openssl("req", "-new", "-key", "key.pem", "-subj", ACME_SUBJ, "-out", "csr.pem", cwd=folder)
    return folder / "csr.pem"


def test_create_request_writes_a_csr_that_openssl_verifies(out_dir: Path) -> None:
    """create_request prints the new id and writes <company>_csr_mtls.pem, which `openssl req
    -verify` accepts; the private key is not written (export_key does that)."""
    output = run(
        "create_request",
        "--environment=sandbox",
        "--purpose=mtls",
        *SUBJECT_ARGS,
        f"--out={out_dir}",
    )

    request = SigningRequest.objects.get()
    assert f"#{request.pk}" in output.stdout
    csr_path = out_dir / "company_csr_mtls.pem"
    assert str(csr_path) in output.stdout.splitlines()
    assert [path.name for path in out_dir.iterdir()] == [csr_path.name]
    assert csr_path.read_text() == request.csr_pem
    openssl("req", "-verify", "-noout", "-in", csr_path)
    assert (request.environment.slug, request.purpose, request.common_name) == (
        "sandbox",
        "mtls",
        "acme.com",
    )
    assert request.key.source == Key.Source.GENERATED


def test_create_request_without_out_writes_nothing(tmp_path: Path) -> None:
    """Without --out the request is made and only its id is printed: no file appears."""
    output = run("create_request", "--environment=production", "--purpose=signature", *SUBJECT_ARGS)
    request = SigningRequest.objects.get()
    assert re.search(rf"#{request.pk}\b", output.stdout)
    assert request.purpose == "signature"
    assert list(tmp_path.iterdir()) == []


def test_bad_subject_lists_every_problem_in_one_line_and_creates_nothing(out_dir: Path) -> None:
    """A three-letter country and a URL as Common Name are both reported, in one line, with the
    suggested host name; no request, key, audit event or file is created."""
    args = [arg for arg in SUBJECT_ARGS if not arg.startswith(("--country", "--common-name"))]
    with pytest.raises(CommandError) as raised:
        run(
            "create_request",
            "--environment=sandbox",
            "--purpose=mtls",
            *args,
            "--country=FRA",
            "--common-name=https://acme.com/",
            f"--out={out_dir}",
        )

    message = str(raised.value)
    assert "\n" not in message
    assert "Country: " in message
    assert "'FRA'" in message
    assert "Common Name: " in message
    assert "'acme.com'" in message
    assert message.index("Country") < message.index("Common Name")
    assert not SigningRequest.objects.exists()
    assert not Key.objects.exists()
    assert not AuditEvent.objects.exists()
    assert list(out_dir.iterdir()) == []


def test_unknown_environment_and_purpose_are_refused_with_the_valid_choices() -> None:
    """An unknown slug lists the environments that exist; an unknown purpose lists the two."""
    with pytest.raises(CommandError, match=r"Unknown environment 'staging'.*sandbox, production"):
        run("create_request", "--environment=staging", "--purpose=mtls", *SUBJECT_ARGS)
    with pytest.raises(CommandError, match=r"Unknown purpose 'tls'.*mtls, signature"):
        run("create_request", "--environment=sandbox", "--purpose=tls", *SUBJECT_ARGS)
    assert not SigningRequest.objects.exists()


def test_create_request_refuses_an_existing_csr_file_before_making_anything(out_dir: Path) -> None:
    """A CSR file already in --out is not overwritten, and no request is created for nothing."""
    existing = out_dir / "company_csr_mtls.pem"
    existing.write_text("keep me")
    with pytest.raises(CommandError, match="exists already"):
        run(
            "create_request",
            "--environment=sandbox",
            "--purpose=mtls",
            *SUBJECT_ARGS,
            f"--out={out_dir}",
        )
    assert existing.read_text() == "keep me"
    assert not SigningRequest.objects.exists()


def test_import_request_accepts_a_csr_made_with_openssl(own_csr: Path) -> None:
    """A CSR from `openssl genrsa` + `openssl req -new -subj ...` is imported: certdesk keeps
    the CSR and its public key, never a private key."""
    output = run("import_request", str(own_csr), "--environment=sandbox", "--purpose=mtls")

    request = SigningRequest.objects.get()
    assert f"#{request.pk}" in output.stdout
    assert request.key.source == Key.Source.IMPORTED
    assert request.key.encrypted_private_key is None
    assert (request.country, request.common_name, request.email) == (
        "FR",
        "acme.com",
        "it@acme.com",
    )
    assert AuditEvent.objects.filter(action="request.imported").count() == 1


def test_reimporting_a_csr_is_refused_because_its_key_was_used(own_csr: Path) -> None:
    """Rule 2: the same CSR (same key) imported again, even for another purpose, is refused."""
    run("import_request", str(own_csr), "--environment=sandbox", "--purpose=mtls")
    with pytest.raises(CommandError, match="key was used before"):
        run("import_request", str(own_csr), "--environment=production", "--purpose=signature")
    assert SigningRequest.objects.count() == 1


def test_import_request_refuses_missing_oversized_and_wrong_files(tmp_path: Path) -> None:
    """A missing file, a file over 1 MB, and a private key given as a CSR are each refused with
    one line, and nothing is stored."""
    cases = {
        tmp_path / "missing.pem": "no such file",
        tmp_path / "big.pem": "larger than 1 MB",
        tmp_path / "key.pem": "private",
    }
    (tmp_path / "big.pem").write_bytes(b"A" * (1024 * 1024 + 1))
    (tmp_path / "key.pem").write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\n"
    )
    for path, expected in cases.items():
        with pytest.raises(CommandError, match=expected) as raised:
            run("import_request", str(path), "--environment=sandbox", "--purpose=mtls")
        assert "\n" not in str(raised.value)
    assert not SigningRequest.objects.exists()


def test_request_commands_refuse_bad_input_in_one_line_without_traceback(manage, tmp_path) -> None:
    """Run as `manage.py`, bad input to create_request and import_request exits non-zero with
    one line on stderr and no traceback."""
    unknown_environment, missing_file = manage(
        ["create_request", "--environment=staging", "--purpose=mtls", *SUBJECT_ARGS],
        ["import_request", str(tmp_path / "nope.csr"), "--environment=sandbox", "--purpose=mtls"],
    )
    assert_one_line_refusal(unknown_environment, "Unknown environment 'staging'", "sandbox")
    assert_one_line_refusal(missing_file, "no such file")
