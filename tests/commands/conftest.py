"""Fixtures of the command tests: a local CA, a pool of RSA keys, and ways to run commands."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from certificates import crypto, services
from certificates.models import Certificate, Environment, SigningRequest
from tests.testca import LocalCA

BASE_DIR = Path(settings.BASE_DIR)

ACME = crypto.Subject(
    country="FR",
    state="Brittany",
    locality="Rennes",
    organization="Acme",
    organizational_unit="IT",
    common_name="acme.com",
    email="it@acme.com",
)
SUBJECT_ARGS = [
    "--country=FR",
    "--state=Brittany",
    "--locality=Rennes",
    "--organization=Acme",
    "--organizational-unit=IT",
    "--common-name=acme.com",
    "--email=it@acme.com",
]


@dataclass
class Output:
    stdout: str
    stderr: str


def run(name: str, *args: str) -> Output:
    """Run a command in-process, as ``manage.py name args`` would, and capture its output."""
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=stdout, stderr=stderr)
    return Output(stdout.getvalue(), stderr.getvalue())


@pytest.fixture(scope="session")
def ca() -> LocalCA:
    """One CA with an intermediate for the whole session: its two keys are made once."""
    return LocalCA.create(with_intermediate=True)


@pytest.fixture(autouse=True)
def trusted_ca(request: pytest.FixtureRequest, ca: LocalCA) -> None:
    """Sandbox and Production trust ``ca``, as after an administrator's setup (rule 5), in
    every test that uses the database."""
    if request.node.get_closest_marker("django_db") is None and "db" not in request.fixturenames:
        return
    request.getfixturevalue("db")
    Environment.objects.filter(ca_bundle="").update(ca_bundle=ca.bundle_pem().decode("ascii"))


@pytest.fixture(scope="session")
def rsa_keys() -> list[rsa.RSAPrivateKey]:
    """RSA 2048 keys made once; each test's database starts empty, so they can serve again."""
    return [crypto.generate_private_key() for _ in range(4)]


@pytest.fixture(autouse=True)
def key_pool(monkeypatch: pytest.MonkeyPatch, rsa_keys: list[rsa.RSAPrivateKey]) -> None:
    """Hand request_create a ready key instead of generating one (50-100 ms each).

    Within one test every key is still different, as rule 2 requires: the pool is consumed in
    order, and a test that needs more falls back to generating new ones.
    """
    pool = iter(rsa_keys)
    monkeypatch.setattr(crypto, "generate_private_key", lambda: next(pool, None) or _fresh_key())


def _fresh_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_request(
    environment: str = "sandbox", purpose: str = "mtls", subject: crypto.Subject = ACME
) -> SigningRequest:
    """A signing request made by certdesk, through the service (setup, not under test)."""
    return services.request_create(
        actor=services.Actor.cli(),
        environment=Environment.objects.get(slug=environment),
        purpose=purpose,
        subject=subject,
    )


def sign(
    ca: LocalCA, request: SigningRequest, *, not_before: datetime | None = None, days: int = 365
) -> x509.Certificate:
    csr = crypto.parse_csr(request.csr_pem.encode("ascii"))
    return ca.sign(csr, not_before=not_before, days=days)


def chain_pem(ca: LocalCA, leaf: x509.Certificate) -> bytes:
    """What Treezor sends back: the leaf followed by its intermediates."""
    return crypto.certificates_to_pem([leaf, *ca.chain()])


def upload(
    ca: LocalCA, request: SigningRequest, *, not_before: datetime | None = None, days: int = 365
) -> Certificate:
    """Sign ``request`` with the local CA and upload it through the service (setup)."""
    leaf = sign(ca, request, not_before=not_before, days=days)
    result = services.certificate_upload(actor=services.Actor.cli(), data=chain_pem(ca, leaf))
    return result.certificate


def install(
    ca: LocalCA, request: SigningRequest, *, not_before: datetime | None = None, days: int = 365
) -> Certificate:
    """Record a certificate for ``request`` straight into the database, as an install leaves
    it: the certificate in service for its environment and purpose is superseded by this one
    (``superseded_at``, ``replaces``). For tests of what reads those records (listing,
    revocation), independent of the upload's checks."""
    leaf = sign(ca, request, not_before=not_before, days=days)
    now = timezone.now()
    with transaction.atomic():
        current = Certificate.objects.filter(
            environment=request.environment, purpose=request.purpose, superseded_at__isnull=True
        ).first()
        if current is not None:
            Certificate.objects.filter(pk=current.pk).update(superseded_at=now)
        certificate = Certificate.objects.create(
            signing_request=request,
            environment=request.environment,
            purpose=request.purpose,
            pem=crypto.certificate_to_pem(leaf).decode("ascii"),
            chain_pem=crypto.certificates_to_pem(ca.chain()).decode("ascii"),
            serial=format(leaf.serial_number, "X"),
            subject=crypto.Subject.from_x509_name(leaf.subject).openssl_oneline(),
            issuer=crypto.describe_name(leaf.issuer),
            not_before=leaf.not_valid_before_utc,
            not_after=leaf.not_valid_after_utc,
            fingerprint=crypto.certificate_fingerprint(leaf),
            replaces=current,
        )
        SigningRequest.objects.filter(pk=request.pk).update(status=SigningRequest.Status.FULFILLED)
    return certificate


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for ``manage.py`` subprocesses: a fresh SQLite file, migrated once."""
    var_dir = tmp_path_factory.mktemp("cli")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CERTDESK_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
    }
    # Keep the subprocesses off any Redis the suite may be pointed at: they need none.
    env.pop("REDIS_URL", None)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def manage(migrated_sqlite: dict[str, str]) -> Callable[..., list[Finished]]:
    """Run several ``manage.py`` command lines at once (each starts Django: about a second)."""

    def start_all(*command_lines: list[str]) -> list[Finished]:
        processes = [
            subprocess.Popen(
                [sys.executable, "manage.py", *line],
                cwd=BASE_DIR,
                env=migrated_sqlite,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for line in command_lines
        ]
        finished = []
        for process in processes:
            stdout, stderr = process.communicate(timeout=120)
            finished.append(Finished(process.returncode, stdout, stderr))
        return finished

    return start_all


def assert_one_line_refusal(result: Finished, *expected: str) -> None:
    """Non-zero exit, one line on stderr naming the problem, no traceback."""
    assert result.returncode != 0, result
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory
