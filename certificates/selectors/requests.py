"""Reads about signing requests."""

from __future__ import annotations

from certificates import crypto
from certificates.models import SigningRequest


def subject_of(signing_request: SigningRequest) -> crypto.Subject:
    """The subject the request asked for, as the crypto core models it."""
    return crypto.Subject(
        country=signing_request.country,
        state=signing_request.state,
        locality=signing_request.locality,
        organization=signing_request.organization,
        organizational_unit=signing_request.organizational_unit,
        common_name=signing_request.common_name,
        email=signing_request.email,
    )
