"""upload_certificate, export_certificate and list_certificates (and its exit status)."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection

from certificates import crypto
from certificates.management.commands import list_certificates
from certificates.models import AuditEvent, Certificate, Revocation, SigningRequest
from tests.support.commands import (
    assert_one_line_refusal,
    chain_pem,
    install,
    make_request,
    run,
    sign,
    upload,
)
from tests.support.openssl import openssl
from tests.support.subjects import SUBJECT_ARGS
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db


def test_upload_prints_the_request_and_the_dates_as_openssl_does(
    ca: LocalCA, tmp_path: Path
) -> None:
    """upload_certificate names the request it fulfilled and prints notBefore/notAfter exactly
    as `openssl x509 -startdate -enddate -noout` does for the same file."""
    request = make_request()
    path = tmp_path / "signed.pem"
    path.write_bytes(chain_pem(ca, sign(ca, request)))

    output = run("upload_certificate", str(path), "--environment=sandbox", "--purpose=mtls")

    certificate = Certificate.objects.get()
    assert f"Certificate #{certificate.pk} fulfils signing request #{request.pk}" in output.stdout
    dates = openssl("x509", "-startdate", "-enddate", "-noout", "-in", path)
    assert dates.strip() in output.stdout
    assert output.stdout.splitlines()[1:3] == dates.strip().splitlines()
    assert output.stderr == ""
    request.refresh_from_db()
    assert request.status == SigningRequest.Status.FULFILLED


def test_upload_prints_each_warning_prefixed(ca: LocalCA, tmp_path: Path) -> None:
    """A certificate that expires inside the renewal window is accepted with a warning line."""
    request = make_request()
    path = tmp_path / "short.pem"
    path.write_bytes(chain_pem(ca, sign(ca, request, days=10)))

    output = run("upload_certificate", str(path))

    assert Certificate.objects.filter(signing_request=request).exists()
    warnings = output.stderr.splitlines()
    assert warnings
    assert all(line.startswith("warning: ") for line in warnings)
    assert any("renewal window" in line for line in warnings)


def test_upload_for_the_wrong_environment_is_refused_and_stores_nothing(
    ca: LocalCA, tmp_path: Path
) -> None:
    """A certificate whose key belongs to a Sandbox request is refused for Production, with the
    request it does belong to named; nothing is stored."""
    request = make_request()
    path = tmp_path / "signed.pem"
    path.write_bytes(chain_pem(ca, sign(ca, request)))

    with pytest.raises(CommandError, match=rf"request #{request.pk} for Sandbox"):
        run("upload_certificate", str(path), "--environment=production")
    assert not Certificate.objects.exists()
    assert not AuditEvent.objects.filter(action="certificate.uploaded").exists()


def test_export_certificate_writes_certificate_and_chain_and_records_it(
    ca: LocalCA, tmp_path: Path, out_dir: Path
) -> None:
    """export_certificate writes <company>_cert_mtls.pem and <company>_chain_mtls.pem, which
    `openssl verify` chains to the CA, prints both paths, and records the export."""
    certificate = upload(ca, make_request())

    output = run("export_certificate", str(certificate.pk), f"--out={out_dir}")

    cert_path, chain_path = out_dir / "company_cert_mtls.pem", out_dir / "company_chain_mtls.pem"
    assert output.stdout.splitlines() == [str(cert_path), str(chain_path)]
    assert cert_path.read_text() == certificate.pem
    root = tmp_path / "root.pem"
    root.write_bytes(ca.bundle_pem())
    verified = openssl("verify", "-CAfile", root, "-untrusted", chain_path, cert_path)
    assert verified.strip().endswith("OK")
    event = AuditEvent.objects.get(action="certificate.exported")
    assert (event.actor_label, event.target_id) == ("cli", str(certificate.pk))
    assert event.environment == certificate.signing_request.environment


def test_export_certificate_refuses_existing_files_and_unknown_ids(
    ca: LocalCA, out_dir: Path
) -> None:
    """An existing chain file stops the whole export (no certificate file, no audit event);
    an unknown id is refused by number."""
    certificate = upload(ca, make_request())
    (out_dir / "company_chain_mtls.pem").write_text("keep me")

    with pytest.raises(CommandError, match="exists already"):
        run("export_certificate", str(certificate.pk), f"--out={out_dir}")
    assert sorted(path.name for path in out_dir.iterdir()) == ["company_chain_mtls.pem"]
    assert not AuditEvent.objects.filter(action="certificate.exported").exists()

    with pytest.raises(CommandError, match="no certificate #9999"):
        run("export_certificate", "9999", f"--out={out_dir}")
    with pytest.raises(CommandError, match="not a certificate id"):
        run("export_certificate", "latest", f"--out={out_dir}")


def list_status(*args: str) -> tuple[int, str, str]:
    """list_certificates' exit status, stdout and stderr; non-zero arrives as SystemExit."""
    stdout, stderr = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    try:
        call_command("list_certificates", *args, stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        code = exit_.code
    assert isinstance(code, int)
    return code, stdout.getvalue(), stderr.getvalue()


def test_list_exits_0_when_every_certificate_is_valid(ca: LocalCA) -> None:
    """One line per certificate with environment, purpose, serial, common name, not after, days
    left and status; exit status 0 while all are valid."""
    certificate = install(ca, make_request())

    code, stdout, stderr = list_status()

    assert code == 0
    assert stderr == ""
    header, row = stdout.splitlines()
    assert header.split()[:3] == ["ID", "ENVIRONMENT", "PURPOSE"]
    assert row.split() == [
        f"#{certificate.pk}",
        "sandbox",
        "mtls",
        certificate.serial,
        "acme.com",
        f"{certificate.not_after:%Y-%m-%d}",
        f"{certificate.not_after:%H:%M}",
        "UTC",
        "364",
        "yes",
        "valid",
    ]


def test_list_exits_1_inside_the_renewal_window(ca: LocalCA) -> None:
    """A certificate with 20 days left is "renewal due": exit status 1, summary on stderr."""
    install(ca, make_request(), days=20)

    code, stdout, stderr = list_status()

    assert code == 1
    assert stdout.splitlines()[1].endswith("renewal due")
    assert stderr.strip() == "0 expired, 1 inside the renewal window."


def test_list_exits_2_once_a_certificate_has_expired(ca: LocalCA) -> None:
    """A certificate uploaded while valid and then left to expire (the clock moved past its
    notAfter) makes the exit status 2, even next to one inside its renewal window."""
    expiring = install(ca, make_request(), days=365)
    install(ca, make_request(environment="production"), days=380)

    with time_machine.travel(expiring.not_after + timedelta(days=1), tick=False):
        code, stdout, _ = list_status()

    assert code == 2
    rows = stdout.splitlines()[1:]
    assert rows[0].split()[-3:] == ["-1", "yes", "expired"]
    assert rows[1].endswith("renewal due")


def test_superseded_and_revoked_certificates_do_not_count(ca: LocalCA) -> None:
    """An old certificate replaced by a newer valid one, and one whose revocation was requested,
    leave the exit status at 0, even after both passed their notAfter."""
    old = install(ca, make_request(), days=20)
    install(ca, make_request(), days=365)
    revoked = install(ca, make_request(environment="production"), days=20)
    Revocation.objects.create(certificate=revoked, reason=Revocation.Reason.KEY_COMPROMISE)

    code, stdout, _ = list_status()
    assert code == 0, stdout

    with time_machine.travel(old.not_after + timedelta(days=5), tick=False):
        code, stdout, _ = list_status("--json")
    assert code == 0
    statuses = {row["id"]: row["status"] for row in json.loads(stdout)}
    assert statuses[old.pk] == "superseded"
    assert statuses[revoked.pk] == "revocation requested"


def test_list_json_is_a_list_of_objects_and_keeps_the_exit_status(ca: LocalCA) -> None:
    """--json prints a JSON list (one object per certificate, dates in ISO 8601) and nothing
    else on stdout; the exit status follows the same rules as the table."""
    assert list_status("--json") == (0, "[]\n", "")
    certificate = install(ca, make_request(purpose="signature"), days=20)

    code, stdout, stderr = list_status("--json")

    assert code == 1
    assert "renewal window" in stderr
    (row,) = json.loads(stdout)
    assert row == {
        "id": certificate.pk,
        "environment": "sandbox",
        "purpose": "signature",
        "serial": certificate.serial,
        "common_name": "acme.com",
        "not_before": certificate.not_before.isoformat(),
        "not_after": certificate.not_after.isoformat(),
        "days_left": 19,
        "status": "renewal due",
        "signing_request": certificate.signing_request_id,
        "in_service": True,
        "superseded_by": None,
        "replaces": None,
    }
    assert datetime.fromisoformat(row["not_after"]).tzinfo is not None


def test_list_reads_everything_in_one_query(ca: LocalCA, django_assert_num_queries) -> None:
    """Statuses come from certificates_with_status(), with the certificate each one replaced
    and the one that replaced it: one query whatever the number of rows (and of renewals)."""
    for environment in ("sandbox", "production"):
        install(ca, make_request(environment=environment))
    install(ca, make_request(), days=20)
    # On PostgreSQL the monitoring statement timeout is set before and reset after (_common.py).
    queries = 3 if connection.vendor == "postgresql" else 1

    with django_assert_num_queries(queries):
        list_status()
    install(ca, make_request(environment="production"), days=40)
    install(ca, make_request(purpose="signature"), days=50)
    with django_assert_num_queries(queries):
        list_status()


def test_list_says_which_certificate_is_in_service_and_which_one_it_replaced(
    ca: LocalCA,
) -> None:
    """After a renewal, --json marks the new certificate in service and replacing the old one,
    and the old one superseded by it; the table shows "yes" in IN SERVICE for the new only."""
    old = install(ca, make_request(), days=365)
    new = install(ca, make_request(), days=380)
    alone = install(ca, make_request(environment="production"), days=365)

    code, stdout, _ = list_status("--json")

    assert code == 0
    rows = {row["id"]: row for row in json.loads(stdout)}
    fields = ("in_service", "superseded_by", "replaces", "status")
    assert {pk: tuple(row[f] for f in fields) for pk, row in rows.items()} == {
        old.pk: (False, new.pk, None, "superseded"),
        new.pk: (True, None, old.pk, "valid"),
        alone.pk: (True, None, None, "valid"),
    }
    _, table, _ = list_status()
    header, *lines = table.splitlines()
    assert "IN SERVICE" in header
    marked = {line.split()[0]: line.split()[-2] for line in lines}
    assert marked == {f"#{old.pk}": "364", f"#{new.pk}": "yes", f"#{alone.pk}": "yes"}


def test_an_expired_superseded_certificate_never_makes_monitoring_red(ca: LocalCA) -> None:
    """Once replaced, an old certificate that runs out is no alarm: the exit status and the
    stderr summary count the certificates in service only (here Production's, inside its
    renewal window), not the superseded one that expired."""
    old = install(ca, make_request(), days=20)
    install(ca, make_request(), days=365)
    install(ca, make_request(environment="production"), days=40)

    assert list_status()[0] == 0
    with time_machine.travel(old.not_after + timedelta(days=1), tick=False):
        code, stdout, stderr = list_status("--json")

    assert code == 1
    assert stderr.strip() == "0 expired, 1 inside the renewal window."
    (superseded,) = [row for row in json.loads(stdout) if row["id"] == old.pk]
    assert (superseded["in_service"], superseded["days_left"]) == (False, -1)


def test_list_exits_3_when_the_database_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A broken check is not mistaken for "renewal due": exit status 3, in one line."""

    def broken(**kwargs: object) -> None:
        raise OperationalError("could not connect to server\nDETAIL: refused")

    monkeypatch.setattr(list_certificates, "certificates_with_status", broken)
    with pytest.raises(CommandError) as raised:
        list_status()
    assert raised.value.returncode == 3
    assert str(raised.value) == (
        "The certificates cannot be read from the database: could not connect to server "
        "DETAIL: refused"
    )


def test_empty_list_says_so() -> None:
    """With no certificate yet, the table says so and the exit status is 0."""
    assert list_status() == (0, "No certificates yet.\n", "")


def test_certificate_commands_work_and_refuse_as_manage_py(
    manage, ca: LocalCA, tmp_path: Path
) -> None:
    """Run as `manage.py`: bad input to upload_certificate and export_certificate exits
    non-zero with one line on stderr and no traceback, and list_certificates' exit status
    reaches the shell (1 with a certificate inside its renewal window)."""
    csr_dir = tmp_path / "csr"
    csr_dir.mkdir()
    created, missing_file, unknown_id = manage(
        [
            "create_request",
            "--environment=sandbox",
            "--purpose=signature",
            *SUBJECT_ARGS,
            f"--out={csr_dir}",
        ],
        ["upload_certificate", str(tmp_path / "nope.pem")],
        ["export_certificate", "9999", f"--out={tmp_path}"],
    )
    assert_one_line_refusal(missing_file, "no such file")
    assert_one_line_refusal(unknown_id, "no certificate #9999")

    assert created.returncode == 0, created.stderr
    csr = crypto.parse_csr((csr_dir / "company_csr_signature.pem").read_bytes())
    signed = tmp_path / "signed.pem"
    signed.write_bytes(crypto.certificates_to_pem([ca.sign(csr, days=20), *ca.chain()]))
    # The migrated Sandbox has no Treezor CA yet: the operator is asked, and nothing is stored.
    (asked,) = manage(["upload_certificate", str(signed)])
    assert_one_line_refusal(asked, "Trust this issuer for Sandbox", "run again with --trust-issuer")
    (uploaded,) = manage(["upload_certificate", str(signed), "--trust-issuer"])
    assert uploaded.returncode == 0, uploaded.stderr
    assert "Sandbox's Treezor CA is now the issuer" in uploaded.stdout
    assert uploaded.stderr.startswith("warning: ")

    table, as_json = manage(["list_certificates"], ["list_certificates", "--json"])
    assert (table.returncode, as_json.returncode) == (1, 1), (table.stderr, as_json.stderr)
    assert "renewal due" in table.stdout
    assert [row["status"] for row in json.loads(as_json.stdout)] == ["renewal due"]
