"""The command line obeys the web's rules: with ``--user`` a command acts as that user, with
their roles per environment; without it, as the server operator (unless
CERTDESK_CLI_REQUIRE_USER says every command line must name its user)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.utils import timezone

from certificates import crypto, services
from certificates.models import (
    AuditEvent,
    Certificate,
    Environment,
    Key,
    Membership,
    OutboundEmail,
    Revocation,
    Role,
    SigningRequest,
)
from certificates.services import Actor
from certificates.services.revocations import revocation_request
from tests.support.subjects import ACME

pytestmark = pytest.mark.django_db

# Every certdesk command that reads or changes something: each takes --user.
ACTING_COMMANDS = {
    "cancel_request",
    "create_request",
    "import_request",
    "upload_certificate",
    "export_key",
    "export_certificate",
    "list_certificates",
    "revoke_certificate",
    "confirm_revocation",
    "rotate_encryption_keys",
    "send_reminders",
    "verify_audit_log",
    "audit_checkpoint",
    # Administrators only; refusing everyone else: tests/accounts/test_invite_command.py.
    "invite_user",
    # For oneself, or anyone by an administrator: tests/api/test_create_api_token.py.
    "create_api_token",
}
# Prints a fresh random key; reads no setting and no row, so there is nobody to check.
NOT_ACTING = {"generate_encryption_key"}
# Acts only while no user exists (the first-run setup code), so --user could name nobody; it is
# refused once anyone exists (tests/commands/test_setup_code.py).
BEFORE_ANY_USER = {"setup_code"}
ADMINISTRATORS_ONLY = [
    "rotate_encryption_keys",
    "send_reminders",
    "verify_audit_log",
    "audit_checkpoint",
]


def run(name: str, *args: str) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def refusal(name: str, *args: str) -> str:
    """The one-line message a refused command prints (and that nothing else was printed)."""
    with pytest.raises(CommandError) as raised:
        run(name, *args)
    message = str(raised.value)
    assert "\n" not in message
    return message


@pytest.fixture
def person(db: None) -> Callable[..., User]:
    """A user called ``name`` holding ``role`` in ``environment`` (or nothing)."""

    def make(name: str, role: str | None = None, environment: Environment | None = None) -> User:
        user = User.objects.create_user(name)
        if role is not None and environment is not None:
            Membership.objects.create(user=user, environment=environment, role=role)
        return user

    return make


@pytest.fixture
def sandbox_request(sandbox: Environment) -> SigningRequest:
    return services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )


@pytest.fixture
def sandbox_certificate(
    sandbox_request: SigningRequest, issue: Callable[..., bytes]
) -> Certificate:
    return services.certificate_upload(actor=Actor.cli(), data=issue(sandbox_request)).certificate


@pytest.fixture
def out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def subject_args() -> list[str]:
    return [
        f"--country={ACME.country}",
        f"--state={ACME.state}",
        f"--locality={ACME.locality}",
        f"--organization={ACME.organization}",
        f"--common-name={ACME.common_name}",
        f"--email={ACME.email}",
    ]


def own_csr(tmp_path: Path) -> Path:
    path = tmp_path / "own.csr"
    path.write_bytes(crypto.csr_to_pem(crypto.build_csr(crypto.generate_private_key(), ACME)))
    return path


# --- every command --------------------------------------------------------------------------


def test_every_certdesk_command_that_acts_takes_user() -> None:
    """A new command cannot be forgotten: each of certdesk's commands either takes --user (from
    the shared base, not a copy) or is listed as one that reads and changes nothing (or one that
    works only before any user exists)."""
    ours = {name for name, app in get_commands().items() if app == "certificates"}
    assert ours == ACTING_COMMANDS | NOT_ACTING | BEFORE_ANY_USER
    for name in ACTING_COMMANDS:
        parser = load_command_class("certificates", name).create_parser("manage.py", name)
        options = {option for action in parser._actions for option in action.option_strings}
        assert "--user" in options, name


@pytest.mark.parametrize("username", ["nobody", ""])
def test_an_unknown_user_is_refused(
    sandbox_request: SigningRequest, out: Path, username: str
) -> None:
    """--user names a real certdesk user, or the command does nothing."""
    message = refusal("export_key", str(sandbox_request.pk), f"--out={out}", f"--user={username}")
    assert message == f"There is no certdesk user '{username}'. Give your login name."
    assert list(out.iterdir()) == []
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_an_inactive_user_is_refused(
    person: Callable[..., User], sandbox: Environment, sandbox_request: SigningRequest, out: Path
) -> None:
    """A disabled account cannot act through the command line either, whatever its role."""
    alice = person("alice", Role.CUSTODIAN, sandbox)
    alice.is_active = False
    alice.save()
    message = refusal("export_key", str(sandbox_request.pk), f"--out={out}", "--user=alice")
    assert message == "alice's account is disabled; an administrator can reactivate it."
    assert list(out.iterdir()) == []


def test_unicode_digits_that_are_no_number_are_refused_in_one_line(
    sandbox_request: SigningRequest, out: Path, admin_user: User
) -> None:
    """ "²" passes str.isdigit() but not int(): a one-line refusal, not a traceback."""
    assert refusal("export_key", "²", f"--out={out}") == (
        "'²' is not a signing request id: give its number, such as 12."
    )
    assert refusal("rotate_encryption_keys", "--batch-size=²") == (
        "--batch-size must be a whole number of at least 1, not '²'."
    )


# --- private keys ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REQUESTER])
def test_below_custodian_export_key_is_refused_in_one_clear_line(
    person: Callable[..., User],
    sandbox: Environment,
    sandbox_request: SigningRequest,
    out: Path,
    role: str,
) -> None:
    """A Sandbox viewer (or requester) may not take the key: refused, nothing written, nothing
    recorded as exported."""
    person("alice", role, sandbox)
    message = refusal("export_key", str(sandbox_request.pk), f"--out={out}", "--user=alice")
    assert message == "alice may not download private keys in Sandbox."
    assert list(out.iterdir()) == []
    assert not AuditEvent.objects.filter(action="key.exported").exists()


def test_a_custodian_exports_the_key_and_the_audit_log_names_them(
    person: Callable[..., User], sandbox: Environment, sandbox_request: SigningRequest, out: Path
) -> None:
    """A Sandbox custodian takes the key; the export is recorded under their name."""
    alice = person("alice", Role.CUSTODIAN, sandbox)
    stdout, _ = run("export_key", str(sandbox_request.pk), f"--out={out}", "--user=alice")
    path = out / "company_privatekey_mtls.pem"
    assert stdout.splitlines() == [str(path)]
    assert path.read_bytes().startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    event = AuditEvent.objects.get(action="key.exported")
    assert (event.actor, event.actor_label) == (alice, "alice")


def test_another_environments_custodian_is_told_the_request_does_not_exist(
    person: Callable[..., User],
    production: Environment,
    sandbox_request: SigningRequest,
    sandbox_certificate: Certificate,
    out: Path,
) -> None:
    """A Production custodian learns nothing of Sandbox: its requests and certificates are
    "no such", as the web answers 404."""
    person("bob", Role.CUSTODIAN, production)
    assert refusal("export_key", str(sandbox_request.pk), f"--out={out}", "--user=bob") == (
        f"There is no signing request #{sandbox_request.pk}."
    )
    assert refusal(
        "export_certificate", str(sandbox_certificate.pk), f"--out={out}", "--user=bob"
    ) == (f"There is no certificate #{sandbox_certificate.pk}.")
    assert list(out.iterdir()) == []


def test_without_user_the_command_acts_as_the_server_operator(
    sandbox_request: SigningRequest, out: Path
) -> None:
    """No --user: the operator, who holds the encryption keys anyway, is recorded as "cli"."""
    run("export_key", str(sandbox_request.pk), f"--out={out}")
    event = AuditEvent.objects.get(action="key.exported")
    assert (event.actor, event.actor_label) == (None, "cli")


# --- requests and certificates --------------------------------------------------------------


def test_create_request_needs_the_requester_role_in_that_environment(
    person: Callable[..., User], sandbox: Environment, production: Environment
) -> None:
    """A viewer may not create a request; a requester may, and is its author; an environment
    the user may not view is unknown to them."""
    alice = person("alice", Role.VIEWER, sandbox)
    args = ["--environment=sandbox", "--purpose=mtls", *subject_args()]
    assert refusal("create_request", *args, "--user=alice") == (
        "alice may not create signing requests in Sandbox."
    )
    assert not Key.objects.exists()

    Membership.objects.filter(user=alice).update(role=Role.REQUESTER)
    run("create_request", *args, "--user=alice")
    assert SigningRequest.objects.get().created_by == alice

    production_args = ["--environment=production", "--purpose=mtls", *subject_args()]
    assert refusal("create_request", *production_args, "--user=alice") == (
        "Unknown environment 'production'. Valid environments: sandbox."
    )
    assert SigningRequest.objects.count() == 1


def test_import_request_needs_the_requester_role(
    person: Callable[..., User], sandbox: Environment, tmp_path: Path
) -> None:
    """Importing one's own CSR is a request too: viewers are refused, requesters keep it."""
    csr = own_csr(tmp_path)
    alice = person("alice", Role.VIEWER, sandbox)
    args = [str(csr), "--environment=sandbox", "--purpose=mtls", "--user=alice"]
    assert refusal("import_request", *args) == "alice may not import signing requests in Sandbox."
    assert not SigningRequest.objects.exists()

    Membership.objects.filter(user=alice).update(role=Role.REQUESTER)
    run("import_request", *args)
    assert SigningRequest.objects.get().created_by == alice


def test_upload_certificate_needs_the_requester_role(
    person: Callable[..., User],
    sandbox: Environment,
    production: Environment,
    sandbox_request: SigningRequest,
    issue: Callable[..., bytes],
    tmp_path: Path,
) -> None:
    """Viewers may not upload, with or without --environment; a Production requester is told
    no request has the key (as the web says); a Sandbox requester's upload is theirs."""
    path = tmp_path / "signed.pem"
    path.write_bytes(issue(sandbox_request))
    alice = person("alice", Role.VIEWER, sandbox)
    person("bob", Role.REQUESTER, production)

    assert refusal("upload_certificate", str(path), "--environment=sandbox", "--user=alice") == (
        "alice may not upload certificates in Sandbox."
    )
    assert refusal("upload_certificate", str(path), "--user=alice") == (
        "alice may not upload certificates in any environment."
    )
    assert "No signing request has this certificate's public key" in refusal(
        "upload_certificate", str(path), "--user=bob"
    )
    assert not Certificate.objects.exists()

    Membership.objects.filter(user=alice).update(role=Role.REQUESTER)
    run("upload_certificate", str(path), "--user=alice")
    assert Certificate.objects.get().uploaded_by == alice


def test_viewers_export_certificates(
    person: Callable[..., User], sandbox: Environment, sandbox_certificate: Certificate, out: Path
) -> None:
    """Certificates are not secret: a viewer of the environment may write them out."""
    alice = person("alice", Role.VIEWER, sandbox)
    run("export_certificate", str(sandbox_certificate.pk), f"--out={out}", "--user=alice")
    assert (out / "company_cert_mtls.pem").exists()
    assert AuditEvent.objects.get(action="certificate.exported").actor == alice


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REQUESTER])
def test_below_custodian_revocations_are_refused(
    person: Callable[..., User],
    sandbox: Environment,
    production: Environment,
    sandbox_certificate: Certificate,
    role: str,
) -> None:
    """As in the browser, only custodians report a compromise, ask for a revocation or record
    Treezor's confirmation: a viewer or requester is refused in one line, another
    environment's custodian is told there is no such certificate; nothing is recorded or sent."""
    person("alice", role, sandbox)
    person("bob", Role.CUSTODIAN, production)
    pk = str(sandbox_certificate.pk)
    before = (AuditEvent.objects.count(), OutboundEmail.objects.count())

    assert refusal("revoke_certificate", pk, "--reason=compromised", "--user=alice") == (
        "alice may not revoke certificates in Sandbox."
    )
    assert refusal("revoke_certificate", pk, "--reason=no-longer-needed", "--user=bob") == (
        f"There is no certificate #{pk}."
    )
    assert not Revocation.objects.exists()
    assert not Key.objects.filter(compromised_at__isnull=False).exists()

    revocation_request(
        actor=Actor.cli(),
        certificate=sandbox_certificate,
        reason=Revocation.Reason.CESSATION_OF_OPERATION,
    )
    assert refusal("confirm_revocation", pk, "--user=alice") == (
        "alice may not record revocations in Sandbox."
    )
    assert refusal("confirm_revocation", pk, "--user=bob") == f"There is no certificate #{pk}."
    assert Revocation.objects.get().confirmed_at is None
    assert AuditEvent.objects.filter(action="certificate.revoked").count() == 0
    assert OutboundEmail.objects.count() == before[1]


def test_a_custodian_revokes_and_the_audit_log_names_them(
    person: Callable[..., User], sandbox: Environment, sandbox_certificate: Certificate
) -> None:
    """A Sandbox custodian reports the compromise and records the confirmation; both are
    theirs in the audit log and on the revocation."""
    alice = person("alice", Role.CUSTODIAN, sandbox)
    pk = str(sandbox_certificate.pk)
    run("revoke_certificate", pk, "--reason=compromised", "--user=alice")
    run("confirm_revocation", pk, "--user=alice")
    assert Revocation.objects.get().requested_by == alice
    actions = ["certificate.revocation_requested", "key.compromised", "certificate.revoked"]
    actors = dict(AuditEvent.objects.filter(action__in=actions).values_list("action", "actor"))
    assert actors == dict.fromkeys(actions, alice.pk)


def listed(*args: str) -> list[int]:
    stdout, _ = run("list_certificates", "--json", *args)
    return [row["id"] for row in json.loads(stdout)]


def test_list_certificates_with_user_lists_that_users_environments_only(
    person: Callable[..., User],
    sandbox: Environment,
    production: Environment,
    sandbox_certificate: Certificate,
    issue: Callable[..., bytes],
    admin_user: User,
) -> None:
    """--user sees what the web shows them; the operator and administrators see everything."""
    production_request = services.request_create(
        actor=Actor.cli(), environment=production, purpose="mtls", subject=ACME
    )
    production_certificate = services.certificate_upload(
        actor=Actor.cli(), data=issue(production_request)
    ).certificate
    person("alice", Role.VIEWER, sandbox)
    person("bob", Role.CUSTODIAN, production)
    person("carol")

    everything = sorted([sandbox_certificate.pk, production_certificate.pk])
    assert sorted(listed()) == everything
    assert sorted(listed(f"--user={admin_user.username}")) == everything
    assert listed("--user=alice") == [sandbox_certificate.pk]
    assert listed("--user=bob") == [production_certificate.pk]
    assert listed("--user=carol") == []


@pytest.mark.parametrize(
    ("arguments", "setting"), [(["--user=nobody"], False), ([], True)], ids=["unknown", "missing"]
)
def test_a_refused_list_certificates_exits_3_not_1(
    settings: Any, arguments: list[str], setting: bool
) -> None:
    """Monitoring reads exit 1 as "renewal due": a refused check (an unknown --user, or none
    where CERTDESK_CLI_REQUIRE_USER wants one) exits 3, "cannot tell", instead."""
    settings.CERTDESK_CLI_REQUIRE_USER = setting
    with pytest.raises(CommandError) as raised:
        run("list_certificates", *arguments)
    assert raised.value.returncode == 3


# --- administrators' commands ---------------------------------------------------------------


@pytest.mark.parametrize("command", ADMINISTRATORS_ONLY)
def test_administrators_commands_refuse_everyone_else(
    person: Callable[..., User], sandbox: Environment, command: str
) -> None:
    """Rotation, the reminder scan and the audit check are for administrators: even a
    custodian is refused, and nothing is recorded."""
    person("alice", Role.CUSTODIAN, sandbox)
    before = AuditEvent.objects.count()
    assert refusal(command, "--user=alice") == (
        f"alice may not run {command}: it is for certdesk administrators only."
    )
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("command", ADMINISTRATORS_ONLY)
def test_administrators_run_their_commands(admin_user: User, command: str) -> None:
    """An administrator's --user runs them (the rotation is recorded under their name)."""
    run(command, f"--user={admin_user.username}")
    if command == "rotate_encryption_keys":
        event = AuditEvent.objects.get(action="encryption.rotated")
        assert (event.actor, event.actor_label) == (admin_user, "admin")


# --- CERTDESK_CLI_REQUIRE_USER --------------------------------------------------------------


def arguments_of(
    command: str, request: SigningRequest, certificate: Certificate, out: Path
) -> list[str]:
    """Arguments that make ``command`` succeed once it knows who runs it."""
    if command == "cancel_request":
        # ``request`` has its certificate; a request still waiting for one can be cancelled.
        waiting = services.request_create(
            actor=Actor.cli(), environment=request.environment, purpose="signature", subject=ACME
        )
        return [str(waiting.pk)]
    csr = own_csr(out.parent)
    pem = out.parent / "signed.pem"
    pem.write_text(certificate.pem)
    return {
        "create_request": ["--environment=sandbox", "--purpose=signature", *subject_args()],
        "import_request": [str(csr), "--environment=sandbox", "--purpose=signature"],
        "upload_certificate": [str(pem)],
        "export_key": [str(request.pk), f"--out={out}"],
        "export_certificate": [str(certificate.pk), f"--out={out}"],
        "list_certificates": [],
        "revoke_certificate": [str(certificate.pk), "--reason=no-longer-needed"],
        "confirm_revocation": [str(certificate.pk)],
        "rotate_encryption_keys": [],
        "send_reminders": ["--dry-run"],
        "verify_audit_log": [],
        "audit_checkpoint": [],
        "invite_user": ["new@acme.example", "--environment=sandbox", "--role=viewer"],
        "create_api_token": [
            "admin",
            "--name=pipeline",
            "--environment=sandbox",
            "--scope=read",
            f"--expires={timezone.localdate() + timedelta(days=30):%Y-%m-%d}",
        ],
    }[command]


@pytest.mark.parametrize("command", sorted(ACTING_COMMANDS))
def test_cli_require_user_makes_user_mandatory(
    settings: Any,
    sandbox_request: SigningRequest,
    sandbox_certificate: Certificate,
    admin_user: User,
    out: Path,
    command: str,
) -> None:
    """With CERTDESK_CLI_REQUIRE_USER=true, a command line without --user does nothing and
    says why; with --user it runs."""
    settings.CERTDESK_CLI_REQUIRE_USER = True
    arguments = arguments_of(command, sandbox_request, sandbox_certificate, out)
    events = AuditEvent.objects.count()
    requests = SigningRequest.objects.count()

    assert refusal(command, *arguments) == (
        "Say who you are with --user USERNAME: this certdesk requires it on the command line "
        "(CERTDESK_CLI_REQUIRE_USER)."
    )
    assert (AuditEvent.objects.count(), SigningRequest.objects.count()) == (events, requests)
    assert list(out.iterdir()) == []

    if command == "upload_certificate":
        # The certificate is installed already: the refusal now comes from the service.
        assert "uploaded already" in refusal(command, *arguments, "--user=admin")
    else:
        if command == "confirm_revocation":
            # Treezor can only confirm a revocation that was asked for.
            revocation_request(
                actor=Actor.cli(),
                certificate=sandbox_certificate,
                reason=Revocation.Reason.CESSATION_OF_OPERATION,
            )
        run(command, *arguments, "--user=admin")
