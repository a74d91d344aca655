"""The company profile, read in one place: its name starts every file name certdesk writes, its
subject fields prefill a first request."""

from __future__ import annotations

from certificates.models import CompanyProfile


def company_profile() -> CompanyProfile:
    """The stored profile, or (on a database a test or an operator emptied) the defaults,
    unsaved: a read never writes. ``services.company_profile_update`` creates the row."""
    return CompanyProfile.objects.filter(pk=1).first() or CompanyProfile(pk=1)


def company_name() -> str:
    """The company's name as Treezor's file names start with it (``company`` until set)."""
    return company_profile().company_name
