"""Fuzzing every way a CSR, a certificate or a CA bundle gets into certdesk.

Random bytes, and mutations of valid PEM and DER inputs (flipped bytes, truncation, duplicated
blocks, changed PEM labels, an inserted private key, broken base64, huge lines, NUL bytes,
invalid UTF-8), go to: the wizard's CSR upload (file and pasted text), the certificate upload
(file and text), an environment's CA bundle (file and text), and the ``import_request`` and
``upload_certificate`` commands. Whatever comes in: never a 500, never an uncaught exception or
a traceback (a CommandError is a refusal), and nothing stored (no Key, SigningRequest or
Certificate, the CA bundle unchanged) unless the input is, after all, valid. What certdesk
accepts is checked against an independent reader, OpenSSL, on the same bytes: an accepted CSR
is one OpenSSL reads (signature checked) with the same public key, an installed certificate is
one OpenSSL reads with the same SHA-256 fingerprint.

Each example runs in a transaction rolled back afterwards, so examples do not see each other's
rows. Hypothesis is derandomized (the same examples on every run, for CI) and keeps no example
database. The upload size limit is checked too: above CERTDESK_UPLOAD_MAX_BYTES, refused before
any parser runs.
"""

from __future__ import annotations

import io
import re
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certificates import crypto, services
from certificates.models import Certificate, Environment, Key, Membership, Role, SigningRequest
from certificates.services import Actor
from certificates.views.wizard import SESSION_KEY as WIZARD_SESSION_KEY
from tests.support.openssl import openssl_certificate_fingerprints, openssl_csr_public_key
from tests.support.subjects import ACME
from tests.support.testca import LocalCA

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- seeds: valid inputs of every kind ------------------------------------------------------


@dataclass(frozen=True)
class Seeds:
    ca: LocalCA
    csr_key: Any  # the key of the sandbox request the matching certificate is for
    csrs: list[bytes]
    certificates: list[bytes]
    bundles: list[bytes]
    private_keys: list[bytes]
    matching_chain: bytes  # set up per test: the certificate of the sandbox request


def _pem(certificate: Any) -> bytes:
    return crypto.certificate_to_pem(certificate)


@pytest.fixture(scope="module")
def seeds() -> Seeds:
    """Valid CSRs, certificates (one chain with an intermediate, PKCS#7 bundles), CA bundles and
    private keys in their usual encodings; all made once for the module."""
    ca = LocalCA.create(with_intermediate=True)
    assert ca.intermediate is not None
    own_key, foreign_key, secret_key = (crypto.generate_private_key() for _ in range(3))
    csr = crypto.build_csr(own_key, ACME)
    csr_pem = crypto.csr_to_pem(csr)
    foreign = ca.sign(crypto.build_csr(foreign_key, ACME))
    foreign_chain = [foreign, ca.intermediate]
    der = serialization.Encoding.DER
    return Seeds(
        ca=ca,
        csr_key=own_key,
        csrs=[
            csr_pem,
            csr.public_bytes(der),
            csr_pem.replace(b"CERTIFICATE REQUEST", b"NEW CERTIFICATE REQUEST"),
            crypto.csr_to_pem(crypto.build_csr(foreign_key, ACME)),  # a key certdesk never saw
            _pem(foreign),  # the wrong kind, valid
        ],
        certificates=[
            crypto.certificates_to_pem(foreign_chain),
            foreign.public_bytes(der),
            pkcs7.serialize_certificates(foreign_chain, serialization.Encoding.PEM),
            pkcs7.serialize_certificates(foreign_chain, der),
            csr_pem,  # the wrong kind, valid
        ],
        bundles=[
            ca.bundle_pem(),
            crypto.certificates_to_pem([ca.root, ca.intermediate]),
            _pem(foreign),  # not a CA
        ],
        private_keys=[
            crypto.private_key_to_pem(secret_key),
            secret_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            ),
            secret_key.private_bytes(
                der, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            secret_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"correct horse"),
            ),
        ],
        matching_chain=b"",
    )


@dataclass
class Scene:
    sandbox: Environment
    seeds: Seeds
    requester: Client
    admin: Client
    tmp_path: Path

    def certificate_seeds(self) -> list[bytes]:
        return [self.seeds.matching_chain, *self.seeds.certificates]


@pytest.fixture
def scene(
    monkeypatch: pytest.MonkeyPatch,
    seeds: Seeds,
    sandbox: Environment,
    admin_user: User,
    tmp_path: Path,
) -> Scene:
    """Sandbox with the seeds' CA as its Treezor CA bundle and a ready mTLS request (made with
    the seed CSR's key, which the matching certificate seed carries too); a Sandbox requester
    and an administrator."""
    monkeypatch.setattr(crypto, "generate_private_key", lambda: seeds.csr_key)
    sandbox.ca_bundle = seeds.ca.bundle_pem().decode("ascii")
    sandbox.save()
    request = services.request_create(
        actor=Actor.cli(), environment=sandbox, purpose="mtls", subject=ACME
    )
    leaf = seeds.ca.sign(crypto.parse_csr(request.csr_pem.encode("ascii")))
    assert seeds.ca.intermediate is not None
    matching = crypto.certificates_to_pem([leaf, seeds.ca.intermediate])
    requester = Client()
    user = User.objects.create_user("requester")
    Membership.objects.create(user=user, environment=sandbox, role=Role.REQUESTER)
    requester.force_login(user)
    admin = Client()
    admin.force_login(admin_user)
    return Scene(
        sandbox=sandbox,
        seeds=replace(seeds, matching_chain=matching),
        requester=requester,
        admin=admin,
        tmp_path=tmp_path,
    )


# --- mutations --------------------------------------------------------------------------------

Draw = st.DrawFn
PEM_BLOCK = re.compile(rb"-----BEGIN [^-]*-----.*?-----END [^-]*-----\r?\n?", re.DOTALL)
PEM_MARKER = re.compile(rb"-----(BEGIN|END) ([^-]*)-----")
LABELS = [
    b"CERTIFICATE",
    b"CERTIFICATE REQUEST",
    b"NEW CERTIFICATE REQUEST",
    b"PKCS7",
    b"X509 CRL",
    b"TRUSTED CERTIFICATE",
    b"PUBLIC KEY",
    b"RSA PRIVATE KEY",
    b"PRIVATE KEY",
    b"ENCRYPTED PRIVATE KEY",
    b"certificate",
    b"",
    b"CERTIFICATE\x00",
    b"CERTIFICATE REQUEST \xff",
]
NOT_BASE64 = [b"!", b"*", b"=", b"==", b"\\", b"%%", b"\xc3\xa9", b"-", b"A", b"AB", b"\t\t"]
BAD_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"]


def _position(draw: Draw, data: bytes) -> int:
    return int(draw(st.integers(0, len(data))))


def flip_bytes(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(out) - 1))
        out[index] ^= draw(st.integers(1, 255))
    return bytes(out)


def truncate(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    return data[: _position(draw, data)]


def duplicate_block(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    blocks: list[bytes] = PEM_BLOCK.findall(data)
    if blocks:
        block = draw(st.sampled_from(blocks))
    else:
        start = _position(draw, data)
        block = data[start : start + draw(st.integers(1, 512))]
    at = _position(draw, data)
    return data[:at] + block * draw(st.integers(1, 3)) + data[at:]


def change_label(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    markers = list(PEM_MARKER.finditer(data))
    label = draw(st.sampled_from(LABELS))
    if not markers:
        return b"-----BEGIN " + label + b"-----\n" + data + b"\n-----END " + label + b"-----\n"
    marker = draw(st.sampled_from(markers))
    return data[: marker.start(2)] + label + data[marker.end(2) :]


def insert_private_key(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    at = _position(draw, data)
    return data[:at] + draw(st.sampled_from(keys)) + data[at:]


def break_base64(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        at = _position(draw, data)
        data = data[:at] + draw(st.sampled_from(NOT_BASE64)) + data[at:]
    return data


def huge_line(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    # Under the upload limit (a megabyte), so that the parsers, not the size check, see it.
    line = draw(st.sampled_from([b"A", b"=", b"-", b" ", b"MIIB"])) * draw(
        st.integers(1_000, 150_000)
    )
    at = _position(draw, data)
    return data[:at] + line + b"\n" + data[at:]


def nul_bytes(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    at = _position(draw, data)
    return data[:at] + b"\x00" * draw(st.integers(1, 8)) + data[at:]


def invalid_utf8(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    at = _position(draw, data)
    return data[:at] + draw(st.sampled_from(BAD_UTF8)) + data[at:]


def splice_random(draw: Draw, data: bytes, keys: list[bytes]) -> bytes:
    start = _position(draw, data)
    end = min(len(data), start + draw(st.integers(0, 64)))
    return data[:start] + draw(st.binary(max_size=64)) + data[end:]


MUTATIONS = [
    flip_bytes,
    truncate,
    duplicate_block,
    change_label,
    insert_private_key,
    break_base64,
    huge_line,
    nul_bytes,
    invalid_utf8,
    splice_random,
]


@st.composite
def mutated(draw: Draw, seeds: list[bytes], keys: list[bytes]) -> bytes:
    data: bytes = draw(st.sampled_from(seeds))
    for mutation in draw(st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=3)):
        data = mutation(draw, data, keys)
    return data


def fuzz_inputs(seeds: list[bytes], keys: list[bytes]) -> st.SearchStrategy[bytes]:
    """A quarter random bytes, the rest mutations of valid inputs."""
    return st.one_of(st.binary(max_size=4096), mutated(seeds, keys), mutated(seeds, keys))


# --- what must hold after each example --------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    keys: int
    requests: int
    certificates: int
    ca_bundle: str

    @classmethod
    def now(cls, sandbox: Environment) -> Stored:
        sandbox.refresh_from_db()
        return cls(
            Key.objects.count(),
            SigningRequest.objects.count(),
            Certificate.objects.count(),
            sandbox.ca_bundle,
        )


@contextmanager
def rolled_back() -> Iterator[None]:
    """One example's writes, undone afterwards whatever they were."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def parses(parser: Callable[[bytes], Any], data: bytes) -> bool:
    """Is ``data`` (as sent, or as a text field would receive it) valid for ``parser``?"""
    variants = {data, data.decode("utf-8", "replace").strip().encode("utf-8")}
    for variant in variants:
        try:
            parser(variant)
        except crypto.CryptoError:
            continue
        return True
    return False


def check_nothing_stored_unless_valid(
    before: Stored, after: Stored, data: bytes, parser: Callable[[bytes], Any]
) -> None:
    if after != before:
        assert parses(parser, data), f"stored {after} from invalid input {data[:200]!r}"


def check_openssl_reads_the_installed_certificate(before: Stored, data: bytes) -> None:
    """If a certificate was installed from ``data``, OpenSSL, an independent reader, finds a
    certificate in the same bytes (as sent, or as a text field receives them) whose SHA-256
    fingerprint is the one certdesk recorded."""
    installed = Certificate.objects.order_by("-pk").first()
    if Certificate.objects.count() == before.certificates or installed is None:
        return
    variants = [data, data.decode("utf-8", "replace").strip().encode("utf-8")]
    theirs = set().union(*(openssl_certificate_fingerprints(variant) for variant in variants))
    assert installed.fingerprint in theirs, (
        f"certdesk installed {installed.fingerprint} from {data[:200]!r}; OpenSSL reads {theirs}"
    )


def as_text_post(fields: dict[str, str], name: str, data: bytes) -> bytes:
    """A form body with ``data`` as the text field, raw: invalid UTF-8 and NUL bytes included,
    as a browser may send them."""
    pairs: list[tuple[str, str | bytes]] = [*fields.items(), (name, data)]
    return urllib.parse.urlencode(pairs).encode("ascii")


FORM = "application/x-www-form-urlencoded"


# --- the wizard's CSR upload ----------------------------------------------------------------


def start_wizard(client: Client) -> None:
    """A request-in-progress for Sandbox mTLS, at the key-source step."""
    session = client.session
    session[WIZARD_SESSION_KEY] = {
        "token": str(uuid.uuid4()),
        "renews": None,
        "environment": "sandbox",
        "purpose": "mtls",
    }
    session.save()


def post_csr(scene: Scene, data: bytes, *, as_file: bool) -> int:
    if as_file:
        response = scene.requester.post(
            "/requests/new/key/",
            {"key_source": "upload", "csr_file": SimpleUploadedFile("csr.pem", data)},
        )
    else:
        body = as_text_post({"key_source": "upload"}, "csr_text", data)
        response = scene.requester.post("/requests/new/key/", body, content_type=FORM)
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize(
    "as_file",
    [True, False],
    ids=["file", "text"],
)
def test_fuzz_wizard_csr_upload(scene: Scene, as_file: bool) -> None:
    """The wizard keeps a CSR in the session only; junk gets the form again (200) and leaves no
    CSR in the request-in-progress; a CSR that happens to be valid goes to the review (302),
    and then OpenSSL, reading the same bytes, finds a CSR with a valid signature and the same
    public key as the one the wizard kept. Nothing is stored in the database either way."""
    keys = scene.seeds.private_keys

    @FUZZ
    @given(data=fuzz_inputs(scene.seeds.csrs, keys))
    def run(data: bytes) -> None:
        start_wizard(scene.requester)
        with rolled_back():
            before = Stored.now(scene.sandbox)
            status = post_csr(scene, data, as_file=as_file)
            assert status in (200, 302), status
            kept = scene.requester.session[WIZARD_SESSION_KEY].get("csr_pem")
            assert Stored.now(scene.sandbox) == before
        if status == 200:
            assert kept is None, f"refused, yet a CSR was kept from {data[:200]!r}"
            return
        assert kept is not None
        sent = data if as_file else data.decode("utf-8", "replace").strip().encode("utf-8")
        their_key = openssl_csr_public_key(sent) or openssl_csr_public_key(data)
        assert their_key is not None, f"accepted a CSR OpenSSL does not read: {data[:200]!r}"
        assert their_key == openssl_csr_public_key(kept.encode("ascii"))

    run()


# --- the certificate upload -----------------------------------------------------------------


def post_certificate(scene: Scene, data: bytes, *, as_file: bool) -> int:
    if as_file:
        response = scene.requester.post(
            "/certificates/upload/",
            {"certificate_file": SimpleUploadedFile("cert.pem", data)},
        )
    else:
        body = as_text_post({"environment": "", "purpose": ""}, "certificate_text", data)
        response = scene.requester.post("/certificates/upload/", body, content_type=FORM)
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("as_file", [True, False], ids=["file", "text"])
def test_fuzz_certificate_upload(scene: Scene, as_file: bool) -> None:
    """Mutations of the matching chain (and of other certificates): refused and nothing kept,
    unless still a valid certificate of the request."""
    keys = scene.seeds.private_keys

    @FUZZ
    @given(data=fuzz_inputs(scene.certificate_seeds(), keys))
    def run(data: bytes) -> None:
        with rolled_back():
            before = Stored.now(scene.sandbox)
            status = post_certificate(scene, data, as_file=as_file)
            assert status in (200, 302), status
            after = Stored.now(scene.sandbox)
            check_nothing_stored_unless_valid(before, after, data, crypto.parse_certificates)
            check_openssl_reads_the_installed_certificate(before, data)
            assert (after.keys, after.requests, after.ca_bundle) == (
                before.keys,
                before.requests,
                before.ca_bundle,
            )

    run()


# --- the CA bundle of an environment --------------------------------------------------------


def environment_form(sandbox: Environment) -> dict[str, str]:
    return {"name": sandbox.name, "tam_emails": "", "team_emails": "", "api_host": ""}


def post_bundle(scene: Scene, data: bytes, *, as_file: bool) -> int:
    url = f"/settings/environments/{scene.sandbox.slug}/edit/"
    fields = environment_form(scene.sandbox)
    if as_file:
        response = scene.admin.post(
            url, {**fields, "ca_bundle_file": SimpleUploadedFile("ca.pem", data)}
        )
    else:
        response = scene.admin.post(
            url, as_text_post(fields, "ca_bundle_text", data), content_type=FORM
        )
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("as_file", [True, False], ids=["file", "text"])
def test_fuzz_ca_bundle_upload(scene: Scene, as_file: bool) -> None:
    """The bundle stays what it was unless the new one is valid; no key, request or
    certificate appears."""
    keys = scene.seeds.private_keys

    @FUZZ
    @given(data=fuzz_inputs(scene.seeds.bundles, keys))
    def run(data: bytes) -> None:
        with rolled_back():
            before = Stored.now(scene.sandbox)
            status = post_bundle(scene, data, as_file=as_file)
            assert status in (200, 302), status
            after = Stored.now(scene.sandbox)
            check_nothing_stored_unless_valid(before, after, data, crypto.parse_ca_bundle)
            assert (after.keys, after.requests, after.certificates) == (
                before.keys,
                before.requests,
                before.certificates,
            )

    run()


# --- the commands -----------------------------------------------------------------------------


def run_command(name: str, *args: str) -> str:
    """The command's output; a CommandError (a refusal) is fine, anything else propagates."""
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command(name, *args, stdout=stdout, stderr=stderr)
    except CommandError as error:
        stderr.write(str(error))
    return stdout.getvalue() + stderr.getvalue()


@pytest.mark.slow
def test_fuzz_import_request(scene: Scene) -> None:
    """import_request refuses in one line, with no traceback, and keeps nothing."""
    path = scene.tmp_path / "fuzz.csr"
    keys = scene.seeds.private_keys

    @FUZZ
    @given(data=fuzz_inputs(scene.seeds.csrs, keys))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        with rolled_back():
            before = Stored.now(scene.sandbox)
            output = run_command(
                "import_request", str(path), "--environment=sandbox", "--purpose=signature"
            )
            assert "Traceback" not in output
            check_nothing_stored_unless_valid(
                before, Stored.now(scene.sandbox), data, crypto.parse_csr
            )

    run()


@pytest.mark.slow
def test_fuzz_upload_certificate_command(scene: Scene) -> None:
    """upload_certificate likewise: a refusal, or a certificate that is valid after all."""
    path = scene.tmp_path / "fuzz.pem"
    keys = scene.seeds.private_keys

    @FUZZ
    @given(data=fuzz_inputs(scene.certificate_seeds(), keys))
    def run(data: bytes) -> None:
        path.write_bytes(data)
        with rolled_back():
            before = Stored.now(scene.sandbox)
            output = run_command("upload_certificate", str(path))
            assert "Traceback" not in output
            check_nothing_stored_unless_valid(
                before, Stored.now(scene.sandbox), data, crypto.parse_certificates
            )
            check_openssl_reads_the_installed_certificate(before, data)

    run()


# --- the upload size limit ------------------------------------------------------------------


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """A parser handed more than CERTDESK_UPLOAD_MAX_BYTES fails the test: an oversized upload
    must be refused by its size. (Smaller inputs, such as the stored bundle a page summarises,
    are parsed as usual.)"""

    def guarded(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
        def parse_unless_oversized(data: bytes, *args: Any, **kwargs: Any) -> Any:
            if len(data) > settings.CERTDESK_UPLOAD_MAX_BYTES:
                pytest.fail("an upload above CERTDESK_UPLOAD_MAX_BYTES reached a parser")
            return parse(data, *args, **kwargs)

        return parse_unless_oversized

    for name in ("parse_csr", "parse_certificates", "parse_ca_bundle"):
        monkeypatch.setattr(crypto, name, guarded(getattr(crypto, name)))


def errors_of(response: Any, field: str) -> str:
    return " ".join(response.context["form"].errors.get(field, []))


@pytest.mark.parametrize("limit", [None, 10_000], ids=["default", "lowered"])
def test_an_oversized_csr_is_refused_before_parsing(
    scene: Scene, no_parsing: None, upload_limit: Callable[[int | None], int], limit: int | None
) -> None:
    """The wizard refuses a CSR file one byte over the limit by its size, with the limit."""
    big = b"-" * (upload_limit(limit) + 1)
    start_wizard(scene.requester)
    response = scene.requester.post(
        "/requests/new/key/",
        {"key_source": "upload", "csr_file": SimpleUploadedFile("big.csr", big)},
    )
    assert response.status_code == 200
    assert "the limit is" in errors_of(response, "csr_file")
    assert Stored.now(scene.sandbox).requests == 1


@pytest.mark.parametrize("limit", [None, 10_000], ids=["default", "lowered"])
def test_an_oversized_certificate_is_refused_before_parsing(
    scene: Scene, no_parsing: None, upload_limit: Callable[[int | None], int], limit: int | None
) -> None:
    """The certificate upload refuses a file one byte over the limit by its size."""
    big = b"-" * (upload_limit(limit) + 1)
    response = scene.requester.post(
        "/certificates/upload/", {"certificate_file": SimpleUploadedFile("big.pem", big)}
    )
    assert response.status_code == 200
    assert "the limit is" in errors_of(response, "certificate_file")
    assert not Certificate.objects.exists()


@pytest.mark.parametrize("limit", [None, 10_000], ids=["default", "lowered"])
def test_an_oversized_ca_bundle_is_refused_before_parsing(
    scene: Scene, no_parsing: None, upload_limit: Callable[[int | None], int], limit: int | None
) -> None:
    """The CA bundle upload refuses a file one byte over the limit by its size."""
    big = b"-" * (upload_limit(limit) + 1)
    before = Stored.now(scene.sandbox)
    response = scene.admin.post(
        f"/settings/environments/{scene.sandbox.slug}/edit/",
        {**environment_form(scene.sandbox), "ca_bundle_file": SimpleUploadedFile("ca.pem", big)},
    )
    assert response.status_code == 200
    assert "limit" in errors_of(response, "ca_bundle_file")
    assert Stored.now(scene.sandbox) == before


@pytest.fixture
def upload_limit(settings: Any) -> Callable[[int | None], int]:
    """Set CERTDESK_UPLOAD_MAX_BYTES (None: keep the configured default); returns it."""

    def apply(limit: int | None) -> int:
        if limit is not None:
            settings.CERTDESK_UPLOAD_MAX_BYTES = limit
        return int(settings.CERTDESK_UPLOAD_MAX_BYTES)

    return apply


# --- a pasted private key is not shown back -------------------------------------------------


@pytest.mark.parametrize("endpoint", ["wizard", "certificate", "ca_bundle"])
def test_a_pasted_private_key_is_not_shown_back(scene: Scene, endpoint: str) -> None:
    """Rule 6: a key pasted where a CSR, certificate or bundle belongs is refused, and the
    refusal page does not carry the key (it would sit in the browser's history and caches)."""
    key_pem = scene.seeds.private_keys[0]
    body_line = key_pem.splitlines()[1]
    if endpoint == "wizard":
        start_wizard(scene.requester)
        response = scene.requester.post(
            "/requests/new/key/", {"key_source": "upload", "csr_text": key_pem.decode()}
        )
    elif endpoint == "certificate":
        response = scene.requester.post(
            "/certificates/upload/", {"certificate_text": key_pem.decode()}
        )
    else:
        response = scene.admin.post(
            f"/settings/environments/{scene.sandbox.slug}/edit/",
            {**environment_form(scene.sandbox), "ca_bundle_text": key_pem.decode()},
        )
    assert response.status_code == 200
    assert body_line not in response.content
