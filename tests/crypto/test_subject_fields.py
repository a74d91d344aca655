"""The seven subject fields of Treezor's table have one definition, which the tables, the
services and the command line follow."""

from __future__ import annotations

import dataclasses

from django.db.models import CharField

from certificates import crypto
from certificates.management.commands.create_request import SUBJECT_OPTIONS
from certificates.models import CompanyProfile, SigningRequest
from certificates.services.company import SUBJECT_FIELDS as COMPANY_FIELDS


def test_one_list_of_subject_fields_everywhere() -> None:
    """crypto.Subject, the company profile's defaults and create_request's options name the
    same fields in the same order."""
    assert tuple(f.name for f in dataclasses.fields(crypto.Subject)) == crypto.SUBJECT_FIELDS
    assert COMPANY_FIELDS == crypto.SUBJECT_FIELDS
    assert [field for _, field in SUBJECT_OPTIONS] == list(crypto.SUBJECT_FIELDS)
    assert SUBJECT_OPTIONS[4] == ("--organizational-unit", "organizational_unit")


def test_the_tables_hold_the_rfc_5280_upper_bounds() -> None:
    """A value the subject rules accept always fits its column (rule 4's bounds)."""
    for model in (SigningRequest, CompanyProfile):
        for field in crypto.SUBJECT_FIELDS:
            column = model._meta.get_field(field)
            assert isinstance(column, CharField)
            assert column.max_length == crypto.MAX_LENGTHS[field]
