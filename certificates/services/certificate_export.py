"""Taking a certificate out of certdesk: the browser's downloads and ``export_certificate``.

Certificates are not secret (rule 3), but who took which one is still worth knowing: both ways
out go through :func:`certificate_export`, which names the files as Treezor expects and records
``certificate.exported`` (the same event, browser or command line).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from django.db import transaction

from certificates import crypto
from certificates.models import Certificate
from certificates.permissions import Action
from certificates.services.audit import Actor, audit_record
from certificates.services.keys import company_name

# What is taken: the certificate alone; the certificate followed by its chain in one file (as
# servers and curl expect, the browser's chain download); or the files of the command line (the
# certificate, and the chain on its own when Treezor sent intermediates).
ExportPart = Literal["certificate", "full_chain", "files"]


@dataclass(frozen=True)
class CertificateFile:
    filename: str
    content: bytes
    content_type: str = "application/x-pem-file"


def certificate_export(
    *, actor: Actor, certificate: Certificate, part: ExportPart
) -> list[CertificateFile]:
    """The files of ``part`` under Treezor's names, recorded as ``certificate.exported``.

    Call it inside the caller's transaction when the files are then written somewhere that may
    fail (the command line): the record is kept only if the files are.
    """
    request = certificate.signing_request
    environment = request.environment
    actor.require(Action.VIEW, environment)
    company = company_name()
    cert_name = crypto.treezor_filename(company, "cert", request.purpose)
    chain_name = crypto.treezor_filename(company, "chain", request.purpose)
    if part == "certificate":
        files = [CertificateFile(cert_name, certificate.pem.encode("ascii"))]
    elif part == "full_chain":
        full = certificate.pem.rstrip() + "\n" + certificate.chain_pem
        files = [CertificateFile(chain_name, full.encode("ascii"))]
    else:
        files = [CertificateFile(cert_name, certificate.pem.encode("ascii"))]
        if certificate.chain_pem.strip():
            files.append(CertificateFile(chain_name, certificate.chain_pem.encode("ascii")))
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="certificate.exported",
            target=certificate,
            environment=environment,
            details={"serial": certificate.serial, "files": [file.filename for file in files]},
        )
    return files
