"""export_key (PKCS#1 PEM and PKCS#12) and rotate_encryption_keys."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management.base import CommandError

from certificates import crypto, vault
from certificates.models import AuditEvent, Key, SigningRequest
from certificates.services import Actor, request_import
from config.environment import new_encryption_key
from tests.support.commands import assert_one_line_refusal, make_request, run, upload
from tests.support.openssl import openssl
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

PASSPHRASE = "correct horse battery staple"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_export_key_writes_a_pkcs1_pem_only_its_owner_can_read(out_dir: Path) -> None:
    """export_key writes <company>_privatekey_mtls.pem: PKCS#1 PEM, mode 0600, a key that
    `openssl rsa -check` accepts and that matches the CSR; the export is audited."""
    request = make_request()

    output = run("export_key", str(request.pk), f"--out={out_dir}")

    path = out_dir / "company_privatekey_mtls.pem"
    assert output.stdout.splitlines() == [str(path)]
    assert path.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----\n")
    assert mode_of(path) == 0o600
    assert "RSA key ok" in openssl("rsa", "-check", "-noout", "-in", path)
    key_modulus = openssl("rsa", "-noout", "-modulus", "-in", path)
    csr_modulus = openssl("req", "-noout", "-modulus", stdin=request.csr_pem.encode())
    assert key_modulus.split("=")[1] == csr_modulus.split("=")[1]
    event = AuditEvent.objects.get(action="key.exported")
    assert (event.actor_label, event.target_id) == ("cli", str(request.pk))
    assert event.details["format"] == "pem"


def test_export_key_never_overwrites_and_records_nothing_when_refused(out_dir: Path) -> None:
    """A key file already in --out is kept as it is, and no export is recorded."""
    request = make_request()
    existing = out_dir / "company_privatekey_mtls.pem"
    existing.write_text("keep me")

    with pytest.raises(CommandError, match="exists already"):
        run("export_key", str(request.pk), f"--out={out_dir}")
    assert existing.read_text() == "keep me"
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_export_key_refuses_an_imported_request_and_unknown_ids(
    out_dir: Path, rsa_keys: list[rsa.RSAPrivateKey]
) -> None:
    """A request made from the user's own CSR has no private key in certdesk: refused, with
    nothing written; unknown ids and missing --out directories are refused too."""
    own = make_request()
    imported = request_import(
        actor=Actor.cli(),
        environment=own.environment,
        purpose="signature",
        csr_data=crypto.csr_to_pem(crypto.build_csr(rsa_keys[-1], ACME)),
    )
    assert imported.key.source == Key.Source.IMPORTED

    with pytest.raises(CommandError, match="never had its private key"):
        run("export_key", str(imported.pk), f"--out={out_dir}")
    with pytest.raises(CommandError, match="no signing request #9999"):
        run("export_key", "9999", f"--out={out_dir}")
    with pytest.raises(CommandError, match="no such directory"):
        run("export_key", str(own.pk), f"--out={out_dir / 'missing'}")
    assert list(out_dir.iterdir()) == []
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_export_key_pkcs12_takes_its_passphrase_from_the_environment(
    ca: LocalCA, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--pkcs12 with CERTDESK_PKCS12_PASSPHRASE writes a mode-0600 .p12 that `openssl pkcs12`
    opens with that passphrase, holding the certificate and its chain."""
    request = make_request()
    certificate = upload(ca, request)
    monkeypatch.setenv("CERTDESK_PKCS12_PASSPHRASE", PASSPHRASE)

    output = run("export_key", str(request.pk), f"--out={out_dir}", "--pkcs12")

    path = out_dir / "company_p12_mtls.p12"
    assert output.stdout.splitlines() == [str(path)]
    assert mode_of(path) == 0o600
    info = openssl(
        "pkcs12", "-info", "-nokeys", "-in", path, "-passin", "env:CERTDESK_PKCS12_PASSPHRASE"
    )
    assert certificate.pem.strip() in info
    assert info.count("-----BEGIN CERTIFICATE-----") == 2
    event = AuditEvent.objects.get(action="key.exported")
    assert event.details["format"] == "pkcs12"


def test_export_key_pkcs12_without_a_passphrase_source_is_refused(
    ca: LocalCA, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no variable set and no terminal to ask in, nothing is written; in a terminal, two
    different passphrases are refused; there is no --passphrase option at all."""
    request = make_request()
    upload(ca, request)
    monkeypatch.delenv("CERTDESK_PKCS12_PASSPHRASE", raising=False)

    with pytest.raises(CommandError, match="set CERTDESK_PKCS12_PASSPHRASE"):
        run("export_key", str(request.pk), f"--out={out_dir}", "--pkcs12")

    answers = iter([PASSPHRASE, PASSPHRASE + "!"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="passphrases differ"):
        run("export_key", str(request.pk), f"--out={out_dir}", "--pkcs12")

    with pytest.raises(CommandError, match="unrecognized arguments"):
        run("export_key", str(request.pk), f"--out={out_dir}", "--pkcs12", "--passphrase=x")
    assert list(out_dir.iterdir()) == []
    assert not AuditEvent.objects.filter(action="key.exported").exists()


@pytest.mark.parametrize("weak", ["aaaaaaaa", " " * 8])
def test_export_key_pkcs12_refuses_a_weak_passphrase_in_one_line(
    ca: LocalCA, out_dir: Path, monkeypatch: pytest.MonkeyPatch, weak: str
) -> None:
    """The command line applies the browser's strength rule: a weak passphrase from
    CERTDESK_PKCS12_PASSPHRASE is refused with the reason; no file, no export recorded."""
    request = make_request()
    upload(ca, request)
    monkeypatch.setenv("CERTDESK_PKCS12_PASSPHRASE", weak)

    with pytest.raises(CommandError, match=r"too easy to guess.*Repeats"):
        run("export_key", str(request.pk), f"--out={out_dir}", "--pkcs12")
    assert list(out_dir.iterdir()) == []
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_export_key_pkcs12_prompts_twice_in_a_terminal(
    ca: LocalCA, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In a terminal without the variable, the passphrase is asked twice (getpass, no echo)."""
    request = make_request()
    upload(ca, request)
    monkeypatch.delenv("CERTDESK_PKCS12_PASSPHRASE", raising=False)
    prompts: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def getpass(prompt: str) -> str:
        prompts.append(prompt)
        return PASSPHRASE

    monkeypatch.setattr("getpass.getpass", getpass)

    run("export_key", str(request.pk), f"--out={out_dir}", "--pkcs12")

    assert len(prompts) == 2
    monkeypatch.setenv("P12_PASS", PASSPHRASE)
    openssl(
        "pkcs12",
        "-info",
        "-nokeys",
        "-in",
        out_dir / "company_p12_mtls.p12",
        "-passin",
        "env:P12_PASS",
    )


def test_rotation_reencrypts_so_that_the_old_key_can_go(settings: Any, out_dir: Path) -> None:
    """With CERTDESK_ENCRYPTION_KEYS=[new, old], rotate_encryption_keys re-encrypts every
    private key under the new one and says so; afterwards export_key works with the new key
    alone (before, it refused in one line)."""
    old, new = new_encryption_key(), new_encryption_key()
    settings.CERTDESK_ENCRYPTION_KEYS = [old]
    requests = [make_request(), make_request(purpose="signature"), make_request("production")]

    settings.CERTDESK_ENCRYPTION_KEYS = [new]
    with pytest.raises(CommandError, match="not in CERTDESK_ENCRYPTION_KEYS"):
        run("export_key", str(requests[0].pk), f"--out={out_dir}")

    settings.CERTDESK_ENCRYPTION_KEYS = [new, old]
    output = run("rotate_encryption_keys", "--batch-size=2")
    new_id = vault.current_key_id()
    assert f"Re-encrypted 3 private keys; key id {new_id} is now in use." in output.stdout
    assert "older keys can be removed from CERTDESK_ENCRYPTION_KEYS" in output.stdout
    assert set(Key.objects.values_list("encryption_key_id", flat=True)) == {new_id}
    assert AuditEvent.objects.get(action="encryption.rotated").details["keys_reencrypted"] == 3

    settings.CERTDESK_ENCRYPTION_KEYS = [new]
    for request in requests:
        # Two of them would share a file name: one directory per request.
        (out_dir / str(request.pk)).mkdir()
        run("export_key", str(request.pk), f"--out={out_dir / str(request.pk)}")
    assert len(list(out_dir.glob("*/company_privatekey_*.pem"))) == 3
    assert SigningRequest.objects.count() == 3


def test_key_commands_refuse_bad_input_in_one_line_without_traceback(manage, tmp_path) -> None:
    """Run as `manage.py`: an unknown request id for export_key and a zero batch size for
    rotate_encryption_keys each exit non-zero with one line on stderr and no traceback."""
    unknown_id, zero_batch = manage(
        ["export_key", "9999", f"--out={tmp_path}"],
        ["rotate_encryption_keys", "--batch-size=0"],
    )
    assert_one_line_refusal(unknown_id, "no signing request #9999")
    assert_one_line_refusal(zero_batch, "--batch-size")
