"""Renewals prepared by the scan (issue 11, point 7), and who the scan acts as."""

from __future__ import annotations

import logging

from django.db import transaction

from certificates import crypto
from certificates.models import Certificate, SigningRequest
from certificates.services.audit import Actor
from certificates.services.errors import ServiceError
from certificates.services.requests import request_create

logger = logging.getLogger(__name__)

# Who the scan's writes are recorded as: its emails, its reminder events, its renewal requests.
SYSTEM = Actor(label="expiry scan")


def prepare_renewal(
    certificate: Certificate, subject: crypto.Subject
) -> tuple[SigningRequest | None, str]:
    """The renewal request (a new key, rule 7), or why it could not be made.

    In a savepoint of the claim's transaction: a failure leaves no key and no request behind,
    and the TAM's email goes without a CSR.
    """
    try:
        with transaction.atomic():
            request = request_create(
                actor=SYSTEM,
                environment=certificate.signing_request.environment,
                purpose=certificate.signing_request.purpose,
                subject=subject,
                renews=certificate,
            )
    except ServiceError as error:
        return None, error.message
    except Exception as error:  # the TAM still hears about the renewal; the logs say more
        logger.exception("The renewal of certificate %s could not be prepared", certificate.pk)
        return None, f"certdesk could not create it ({type(error).__name__}); see its logs."
    return request, ""
