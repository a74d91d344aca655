"""Key + CSR creation through the real wizard view, against its floor and against OpenSSL.

The floor is what no implementation can avoid: an RSA 2048 key generated and a CSR signed with
``cryptography`` in this same process. RSA generation time varies a lot from key to key (the
search for primes), so the view and the floor are measured in turns, in alternating order, and
compared by their medians: a slow stretch of the machine hits both alike. The view's own cost
(everything but the RSA generation) is each request's time less the generation it made, timed
inside it.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path
from unittest import mock

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.test import Client

from bench.table import Row, median, ms, ratio
from certificates import crypto

SUBJECT = {
    "country": "FR",
    "state": "Brittany",
    "locality": "Rennes",
    "organization": "Acme",
    "organizational_unit": "IT",
    "common_name": "acme.com",
    "email": "it@acme.com",
}
OPENSSL_SUBJECT = "/C=FR/ST=Brittany/L=Rennes/O=Acme/OU=IT/CN=acme.com/emailAddress=it@acme.com"
NAME = x509.Name(
    [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "Brittany"),
        x509.NameAttribute(NameOID.LOCALITY_NAME, "Rennes"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acme"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "IT"),
        x509.NameAttribute(NameOID.COMMON_NAME, "acme.com"),
        x509.NameAttribute(NameOID.EMAIL_ADDRESS, "it@acme.com"),
    ]
)
TARGET = 1.3


def _walk_to_review(client: Client) -> str:
    """Steps 1 to 3 of the wizard (not timed); returns the review form's one-time token."""
    client.get("/requests/new/")
    steps = [
        # Each timed round makes one more Sandbox mTLS request: the wizard then asks whether to
        # start another; the bench says yes, as a user making a second request does.
        (
            "/requests/new/",
            {"environment": "sandbox", "purpose": "mtls", "another": "sandbox/mtls"},
        ),
        ("/requests/new/key/", {"key_source": "generate"}),
        ("/requests/new/subject/", SUBJECT),
    ]
    for url, data in steps:
        response = client.post(url, data)
        if response.status_code != 302:
            raise RuntimeError(f"wizard step {url} answered {response.status_code}, not 302")
    token: str = client.session["certdesk_wizard"]["token"]
    return token


def view_once(client: Client) -> float:
    """The review POST alone: token check, key, CSR, encryption, database rows, redirect."""
    token = _walk_to_review(client)
    start = time.perf_counter()
    response = client.post("/requests/new/review/", {"token": token})
    elapsed = time.perf_counter() - start
    if response.status_code != 302 or not response["Location"].startswith("/requests/"):
        raise RuntimeError(f"the review POST answered {response.status_code}, not a redirect")
    return elapsed


def raw_once() -> float:
    """The floor: the same key and CSR with ``cryptography`` directly, nothing else."""
    start = time.perf_counter()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    csr = x509.CertificateSigningRequestBuilder().subject_name(NAME).sign(key, hashes.SHA256())
    csr.public_bytes(serialization.Encoding.PEM)
    return time.perf_counter() - start


def openssl_once(folder: Path) -> float:
    """The seed's two commands, as processes, the way a user runs them by hand."""
    key, csr = folder / "k", folder / "c"
    start = time.perf_counter()
    subprocess.run(
        ["openssl", "genrsa", "-traditional", "-out", str(key), "2048"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["openssl", "req", "-new", "-key", str(key), "-subj", OPENSSL_SUBJECT, "-out", str(csr)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


class GenerationTimer:
    """Wraps certdesk's key generation to time it inside the view: the view's own cost is then
    each request's time less its own RSA generation, paired, free of the primes' noise."""

    def __init__(self) -> None:
        self.real = crypto.generate_private_key
        self.times: list[float] = []

    def __call__(self) -> rsa.RSAPrivateKey:
        start = time.perf_counter()
        key = self.real()
        self.times.append(time.perf_counter() - start)
        return key


def measure(client: Client, *, rounds: int, openssl_rounds: int) -> list[Row]:
    view: list[float] = []
    raw: list[float] = []
    openssl: list[float] = []
    generation = GenerationTimer()
    with (
        tempfile.TemporaryDirectory(prefix="certdesk-bench-openssl-") as folder,
        mock.patch.object(crypto, "generate_private_key", side_effect=generation),
    ):
        for index in range(rounds):
            # Alternate who goes first, so neither always runs on a warmer cache.
            if index % 2:
                raw.append(raw_once())
                view.append(view_once(client))
            else:
                view.append(view_once(client))
                raw.append(raw_once())
            if index < openssl_rounds:
                openssl.append(openssl_once(Path(folder)))
    view_median, raw_median, openssl_median = median(view), median(raw), median(openssl)
    if len(generation.times) != len(view):
        raise RuntimeError("the view did not generate one key per request")
    own = median([total - made for total, made in zip(view, generation.times, strict=True)])
    return [
        Row(
            f"Key + CSR via the wizard's review POST (Client, real URLconf), median of {rounds}",
            ms(view_median),
            f"cryptography key + CSR in-process, interleaved: {ms(raw_median)}",
            ratio(view_median, raw_median),
            f"≤ {TARGET}x",
            view_median <= TARGET * raw_median,
        ),
        Row(
            "… the view's own cost: each POST less its own RSA generation (paired, median)",
            ms(own),
            f"RSA generation inside the view: {ms(median(generation.times))} "
            f"(floor's key + CSR: {ms(raw_median)})",
            ratio(raw_median + own, raw_median),
        ),
        Row(
            f"Key + CSR via the view vs the seed's `openssl genrsa` + `openssl req`, "
            f"median of {openssl_rounds}",
            ms(view_median),
            f"two openssl processes: {ms(openssl_median)}",
            ratio(view_median, openssl_median),
        ),
    ]
