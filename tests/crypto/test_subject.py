"""The CSR subject: Treezor's table, ISO countries, host-name Common Names, RFC 5280 bounds."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from certificates import crypto
from tests.support.subjects import ACME, acme_form

VALID = acme_form()


def _errors(**changes: str) -> dict[str, str]:
    with pytest.raises(crypto.SubjectError) as caught:
        crypto.validate_subject(**{**VALID, **changes})
    return caught.value.errors


def test_valid_subject_is_stripped_and_country_uppercased() -> None:
    """Whitespace is stripped, 'fr' becomes 'FR', the rest is kept as typed."""
    subject = crypto.validate_subject(
        **{**VALID, "country": " fr ", "state": "  Brittany\t", "common_name": " acme.com "}
    )
    assert subject == ACME


def test_organizational_unit_is_optional() -> None:
    """Treezor's table marks OU "(optional)": an empty one is accepted and left out of names."""
    subject = crypto.validate_subject(**{**VALID, "organizational_unit": "  "})
    assert subject.organizational_unit == ""
    assert not subject.to_x509_name().get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)


def test_three_letter_country_says_so() -> None:
    """'FRA' is refused: two letters are needed, and the right code is given."""
    message = _errors(country="FRA")["country"]
    assert message.startswith("Country must be a two-letter ISO code such as FR; 'FRA' is three")
    assert "France is FR" in message


def test_unknown_country_code_is_refused() -> None:
    """Two letters are not enough: 'XX' is not in ISO 3166-1."""
    assert _errors(country="XX") == {"country": "'XX' is not an ISO 3166-1 country code."}


def test_uk_is_pointed_to_gb() -> None:
    """The common mistake 'UK' gets the right code in its message."""
    assert "GB" in _errors(country="uk")["country"]


def test_country_name_instead_of_code_gets_the_code() -> None:
    """A full country name is refused, with its code."""
    message = _errors(country="Germany")["country"]
    assert "two-letter ISO code" in message
    assert "DE" in message


@pytest.mark.parametrize(
    ("typed", "suggestion"),
    [
        ("https://yourcompany.com/", "yourcompany.com"),
        ("yourcompany.com:443", "yourcompany.com"),
        ("http://yourcompany.com/path", "yourcompany.com"),
        ("HTTPS://API.YourCompany.com", "api.yourcompany.com"),
        ("yourcompany.com.", "yourcompany.com"),
    ],
)
def test_url_like_common_name_is_refused_with_the_host_name(typed: str, suggestion: str) -> None:
    """Treezor's example CN is a URL; certdesk refuses it and suggests the host name."""
    message = _errors(common_name=typed)["common_name"]
    assert f"'{suggestion}'" in message
    assert message.startswith("Common Name must be a host name only")
    assert crypto.suggest_common_name(typed) == suggestion


def test_wildcard_common_name_is_refused() -> None:
    """A client certificate names one host: '*.acme.com' is refused, 'acme.com' suggested."""
    message = _errors(common_name="*.acme.com")["common_name"]
    assert "wildcard" in message
    assert "'acme.com'" in message


def test_email_as_common_name_suggests_the_domain() -> None:
    """An address typed as CN is refused; the domain is suggested and Email named."""
    message = _errors(common_name="it@acme.com")["common_name"]
    assert "'acme.com'" in message
    assert "Email" in message


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("acme", "has no domain"),
        ("192.168.1.10", "not an IP address"),
        ("acme_corp.com", "letters, digits and hyphens"),
        ("-acme.com", "letters, digits and hyphens"),
        ("acme corp.com", "letters, digits and hyphens"),
        ("a" * 64 + ".com", "the limit is 64"),
    ],
)
def test_common_name_must_be_a_host_name(typed: str, expected: str) -> None:
    """Single labels, IP addresses and non-RFC 1123 labels are refused with a reason."""
    assert expected in _errors(common_name=typed)["common_name"]


def test_common_name_of_65_characters_is_too_long() -> None:
    """RFC 5280's ub-common-name is 64: 65 characters are refused with both numbers."""
    value = "a" * 61 + ".com"
    assert len(value) == 65
    assert _errors(common_name=value)["common_name"] == (
        "Common Name is 65 characters long; the limit is 64 (RFC 5280). Shorten it."
    )


def test_bounds_of_rfc_5280() -> None:
    """O and OU stop at 64 characters, ST and L at 128, Email at 128; the limit itself passes."""
    crypto.validate_subject(
        **{
            **VALID,
            "organization": "o" * 64,
            "organizational_unit": "u" * 64,
            "state": "s" * 128,
            "locality": "l" * 128,
            "email": "a" * 64 + "@" + "b" * 59 + ".com",
        }
    )
    errors = _errors(
        organization="o" * 65,
        organizational_unit="u" * 65,
        state="s" * 129,
        locality="l" * 129,
        email="a" * 64 + "@" + "b" * 60 + ".com",
    )
    assert set(errors) == {"organization", "organizational_unit", "state", "locality", "email"}
    assert "the limit is 128" in errors["email"]


@pytest.mark.parametrize(
    "email", ["it", "it@acme", "it@@acme.com", "it@acme..com", "i t@acme.com", "it.@acme.com"]
)
def test_invalid_email_is_refused(email: str) -> None:
    """An address needs one @ and a domain with a dot."""
    assert _errors(email=email) == {"email": "Email must be an address such as it@yourcompany.com."}


def test_non_ascii_email_is_refused() -> None:
    """emailAddress is an IA5String: non-ASCII addresses cannot be encoded."""
    assert "ASCII" in _errors(email="é@acme.com")["email"]


def test_control_characters_are_refused() -> None:
    """A tab or line break inside a field is refused rather than silently encoded."""
    assert "control character" in _errors(locality="Ren\nnes")["locality"]


def test_missing_required_fields_are_named() -> None:
    """Every required field left empty gets its own message, in Treezor's words."""
    errors = _errors(country="", state=" ", locality="", organization="", common_name="", email="")
    assert set(errors) == {"country", "state", "locality", "organization", "common_name", "email"}
    assert errors["state"] == (
        "State / Province is required: the state or province where the organization is "
        "located (e.g. Brittany, IdF)."
    )


def test_all_errors_are_reported_at_once() -> None:
    """One SubjectError lists every problem; its message names them all."""
    with pytest.raises(crypto.SubjectError) as caught:
        crypto.validate_subject(
            country="FRA",
            state="Brittany",
            locality="",
            organization="Acme",
            organizational_unit="",
            common_name="https://acme.com/",
            email="nope",
        )
    error = caught.value
    assert set(error.errors) == {"country", "locality", "common_name", "email"}
    assert isinstance(error, crypto.CryptoError)
    assert isinstance(error, ValueError)
    assert str(error).startswith("4 subject fields need correcting.")
    for message in error.errors.values():
        assert message in str(error)


def test_to_x509_name_uses_openssl_order() -> None:
    """C, ST, L, O, OU, CN, emailAddress, as `openssl req` writes them."""
    oids = [attribute.oid for attribute in ACME.to_x509_name()]
    assert oids == [
        NameOID.COUNTRY_NAME,
        NameOID.STATE_OR_PROVINCE_NAME,
        NameOID.LOCALITY_NAME,
        NameOID.ORGANIZATION_NAME,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
        NameOID.COMMON_NAME,
        NameOID.EMAIL_ADDRESS,
    ]


def test_from_x509_name_round_trips_and_fills_missing_with_empty() -> None:
    """A name read back gives the same Subject; attributes it lacks become ""."""
    assert crypto.Subject.from_x509_name(ACME.to_x509_name()) == ACME
    partial = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acme.com")])
    subject = crypto.Subject.from_x509_name(partial)
    assert subject.common_name == "acme.com"
    assert subject.country == subject.email == subject.organizational_unit == ""


def test_openssl_oneline_layout() -> None:
    """The default OpenSSL 3 rendering: 'C = FR, ..., emailAddress = it@acme.com'."""
    assert ACME.openssl_oneline() == (
        "C = FR, ST = Brittany, L = Rennes, O = Acme, OU = IT, CN = acme.com, "
        "emailAddress = it@acme.com"
    )


@pytest.mark.parametrize(
    ("value", "rendered"),
    [
        ("Acme, Inc", '"Acme, Inc"'),
        ('Acme "Q"', 'Acme \\"Q\\"'),
        ("Île", "\\C3\\8Ele"),
        ("#1", '"#1"'),
        ("a\\b", "a\\\\b"),
    ],
)
def test_openssl_oneline_escapes_like_openssl(value: str, rendered: str) -> None:
    """Quotes for ',+;<>' and leading '#', backslashes for '"' and '\\', \\XX beyond ASCII."""
    subject = crypto.Subject("FR", value, "", "", "", "", "")
    assert subject.openssl_oneline() == f"C = FR, ST = {rendered}"


@pytest.mark.parametrize("value", ["acme.com", "", "  ", "Acme SAS", "https://", "http://[::1]/"])
def test_suggest_common_name_returns_none_without_a_better_host_name(value: str) -> None:
    """No suggestion when the value already is the host name, or holds none."""
    assert crypto.suggest_common_name(value) is None


def test_suggest_common_name_gives_idna_for_international_names() -> None:
    """A non-ASCII host name is suggested in its ASCII (IDNA) form."""
    assert crypto.suggest_common_name("société.fr") == "xn--socit-esab.fr"
    assert "xn--socit-esab.fr" in _errors(common_name="société.fr")["common_name"]
