"""What every command shares (_common.py): one-line refusals, and all-or-nothing writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError

from certificates import services
from certificates.management.commands import _common
from certificates.models import AuditEvent, CompanyProfile, SigningRequest
from certificates.vault import VaultError
from tests.support.commands import make_request, run
from tests.support.subjects import SUBJECT_ARGS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "error",
    [
        PermissionDenied("Your role in Sandbox does not allow this."),
        VaultError("CERTDESK_ENCRYPTION_KEYS is empty: private keys cannot be stored."),
        services.ServiceError("First line.\nSecond line."),
    ],
    ids=["permission", "vault", "multi-line"],
)
def test_refusals_from_below_become_one_command_error_line(
    error: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PermissionDenied, VaultError and ServiceError reach the user as one CommandError line
    (what `manage.py` prints without a traceback), whatever their own line breaks."""

    def refuse(**kwargs: object) -> None:
        raise error

    monkeypatch.setattr(services, "request_create", refuse)
    with pytest.raises(CommandError) as raised:
        run("create_request", "--environment=sandbox", "--purpose=mtls", *SUBJECT_ARGS)
    assert str(raised.value) == " ".join(str(error).splitlines())


def test_create_request_keeps_no_request_when_its_csr_cannot_be_written(
    out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If writing the CSR fails (disk full, say), the request made just before is rolled back:
    the command changes nothing, as its non-zero exit says."""

    def disk_full(self: _common.NewFiles, path: Path, data: bytes, *, private: bool) -> None:
        raise CommandError(f"{path} cannot be written: No space left on device.")

    monkeypatch.setattr(_common.NewFiles, "write", disk_full)
    with pytest.raises(CommandError, match="No space left"):
        run(
            "create_request",
            "--environment=sandbox",
            "--purpose=mtls",
            *SUBJECT_ARGS,
            f"--out={out_dir}",
        )
    assert not SigningRequest.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_failed_export_leaves_neither_file_nor_audit_event(
    out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the key file was written but the transaction then fails, the file is removed and
    the export is not recorded: no key on disk that the audit log does not know about."""
    request = make_request()
    original = _common.NewFiles.write

    def write_then_fail(self: _common.NewFiles, path: Path, data: bytes, *, private: bool) -> None:
        original(self, path, data, private=private)
        assert path.exists()
        raise CommandError("simulated failure after the write")

    monkeypatch.setattr(_common.NewFiles, "write", write_then_fail)
    with pytest.raises(CommandError, match="simulated"):
        run("export_key", str(request.pk), f"--out={out_dir}")
    assert list(out_dir.iterdir()) == []
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_file_names_follow_the_company_profile(out_dir: Path) -> None:
    """Files are named after the company profile, the way Treezor names them."""
    CompanyProfile.objects.filter(pk=1).update(company_name="Acme SAS")
    output = run(
        "create_request",
        "--environment=sandbox",
        "--purpose=signature",
        *SUBJECT_ARGS,
        f"--out={out_dir}",
    )
    assert str(out_dir / "acme.sas_csr_signature.pem") in output.stdout.splitlines()


def test_read_input_file_refuses_a_directory_and_reads_at_most_a_megabyte(tmp_path: Path) -> None:
    """A directory is refused by name; exactly 1 MB is accepted, one byte more is not."""
    with pytest.raises(CommandError, match="is a directory"):
        _common.read_input_file(str(tmp_path), "a CSR")
    limit = tmp_path / "limit.bin"
    limit.write_bytes(b"x" * _common.MAX_INPUT_BYTES)
    assert len(_common.read_input_file(str(limit), "a CSR")) == _common.MAX_INPUT_BYTES
    limit.write_bytes(b"x" * (_common.MAX_INPUT_BYTES + 1))
    with pytest.raises(CommandError, match="larger than 1 MB"):
        _common.read_input_file(str(limit), "a CSR")
