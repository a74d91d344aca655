"""Running the real `openssl`: the independent reader the crypto tests compare with."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")


def run_openssl(
    *args: str | Path, cwd: Path | None = None, stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run `openssl` (skipped when it is missing, except under CI) and return the result."""
    if OPENSSL is None:
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail("CI=true but the openssl command is missing", pytrace=False)
        pytest.skip("the openssl command is missing: interoperability tests need it")
    return subprocess.run(
        [OPENSSL, *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        check=False,
        timeout=60,
    )


def openssl(*args: str | Path, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    """Run `openssl`, fail the test with its stderr if it fails; return stdout and stderr.

    Some commands (`pkcs12 -info`) write what tests look at on stderr, hence both.
    """
    result = run_openssl(*args, cwd=cwd, stdin=stdin)
    if result.returncode != 0:
        pytest.fail(f"openssl {' '.join(map(str, args))} failed: {result.stderr.decode()}")
    return result.stdout.decode() + result.stderr.decode()


_PEM_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def _ok(*args: str | Path, stdin: bytes | None = None) -> bytes | None:
    result = run_openssl(*args, stdin=stdin)
    return result.stdout if result.returncode == 0 else None


_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.S)


def canonical_pem(data: bytes) -> bytes:
    """``data``'s PEM blocks re-wrapped as OpenSSL writes them (64-column base64, nothing
    around): the copy-and-paste damage certdesk forgives (a missing line break, spaces, CRLF,
    text between blocks) undone by this test helper, not by the code under test."""
    blocks = []
    for label, body in _PEM_BLOCK.findall(data):
        compact = re.sub(rb"\s+", b"", body)
        lines = [compact[i : i + 64] for i in range(0, len(compact), 64)]
        blocks.append(
            b"\n".join([b"-----BEGIN " + label + b"-----", *lines, b"-----END " + label + b"-----"])
        )
    return b"\n".join(blocks) + b"\n" if blocks else b""


def openssl_certificate_fingerprints(data: bytes) -> set[str]:
    """The SHA-256 fingerprints (lowercase hex, as certdesk stores them) of every certificate
    OpenSSL itself reads in ``data`` (or in its ``canonical_pem``): a PEM certificate or chain, a
    DER certificate, or a PKCS#7 bundle (PEM or DER). Empty when OpenSSL reads none: the
    independent reader of the fuzz."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input"
        path.write_bytes(data)
        readings = [
            _ok("x509", "-inform", "DER", "-in", path),
            _ok("pkcs7", "-inform", "PEM", "-print_certs", "-in", path),
            _ok("pkcs7", "-inform", "DER", "-print_certs", "-in", path),
        ]
        pem = Path(directory) / "canonical.pem"
        pem.write_bytes(canonical_pem(data))
        for source in (path, pem):
            bundle = _ok("crl2pkcs7", "-nocrl", "-certfile", source)
            if bundle is not None:
                readings.append(_ok("pkcs7", "-print_certs", stdin=bundle))
        readings.append(_ok("pkcs7", "-inform", "PEM", "-print_certs", "-in", pem))
    fingerprints = set()
    for reading in readings:
        for block in _PEM_CERTIFICATE.findall(reading or b""):
            shown = _ok("x509", "-noout", "-fingerprint", "-sha256", stdin=block)
            if shown is not None:
                digest = shown.decode().strip().rsplit("=", 1)[1]
                fingerprints.add(digest.replace(":", "").lower())
    return fingerprints


def openssl_csr_public_key(data: bytes) -> str | None:
    """The public key (PEM) of the CSR OpenSSL reads in ``data`` (PEM, DER, or its
    ``canonical_pem``), signature checked; None when OpenSSL reads no valid CSR there."""
    for form, variant in (("PEM", data), ("DER", data), ("PEM", canonical_pem(data))):
        shown = _ok("req", "-inform", form, "-noout", "-verify", "-pubkey", stdin=variant)
        if shown is not None:
            return shown.decode()
    return None
