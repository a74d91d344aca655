"""A local certificate authority that plays Treezor in tests.

It signs certdesk's CSRs the way a CA would: a root (and optionally an intermediate) with
basicConstraints, key identifiers, and leaves for TLS client authentication. Each LocalCA
generates its keys once; create one per module (or session) rather than per test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# Wide enough for any `at` a test chooses, fixed so that tests never depend on today's date.
CA_NOT_BEFORE = datetime(2000, 1, 1, tzinfo=UTC)
CA_NOT_AFTER = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Treezor Test"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ca_certificate(
    subject: x509.Name,
    public_key: rsa.RSAPublicKey,
    issuer: x509.Name,
    issuer_key: rsa.RSAPrivateKey,
    *,
    path_length: int | None,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(CA_NOT_BEFORE)
        .not_valid_after(CA_NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
        .sign(issuer_key, hashes.SHA256())
    )


@dataclass
class LocalCA:
    """A root CA, optionally with one intermediate that signs the leaves."""

    root_key: rsa.RSAPrivateKey
    root: x509.Certificate
    intermediate_key: rsa.RSAPrivateKey | None = None
    intermediate: x509.Certificate | None = None

    @classmethod
    def create(
        cls, common_name: str = "Treezor Test Root CA", with_intermediate: bool = False
    ) -> LocalCA:
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root_name = _name(common_name)
        root = _ca_certificate(
            root_name, root_key.public_key(), root_name, root_key, path_length=None
        )
        if not with_intermediate:
            return cls(root_key=root_key, root=root)
        intermediate_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        intermediate_name = (
            common_name.replace("Root", "Intermediate")
            if "Root" in common_name
            else f"{common_name} Intermediate"
        )
        intermediate = _ca_certificate(
            _name(intermediate_name),
            intermediate_key.public_key(),
            root_name,
            root_key,
            path_length=0,
        )
        return cls(root_key, root, intermediate_key, intermediate)

    def bundle_pem(self) -> bytes:
        """The CA bundle an environment would hold: the root only."""
        return self.root.public_bytes(serialization.Encoding.PEM)

    def chain(self) -> list[x509.Certificate]:
        """The intermediates Treezor would send with a certificate (leaf's issuer first)."""
        return [self.intermediate] if self.intermediate is not None else []

    def _issuer(self) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
        if self.intermediate is not None and self.intermediate_key is not None:
            return self.intermediate, self.intermediate_key
        return self.root, self.root_key

    def sign(
        self,
        csr: x509.CertificateSigningRequest,
        *,
        not_before: datetime | None = None,
        days: int = 365,
        client_auth: bool = True,
        subject: x509.Name | None = None,
        dns_names: Sequence[str] = (),
    ) -> x509.Certificate:
        """A leaf for the CSR's key, valid ``days`` days from ``not_before`` (default: now).

        ``client_auth`` picks the extendedKeyUsage: clientAuth (an mTLS client certificate) or
        serverAuth (for a test TLS server, which also wants ``dns_names`` as subjectAltName).
        """
        issuer, issuer_key = self._issuer()
        public_key = csr.public_key()
        start = (not_before or datetime.now(UTC)).replace(microsecond=0)
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client_auth else ExtendedKeyUsageOID.SERVER_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject if subject is not None else csr.subject)
            .issuer_name(issuer.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        )
        if dns_names:
            names = [x509.DNSName(name) for name in dns_names]
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())
