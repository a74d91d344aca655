"""The readable subject line (issue 16): OpenSSL's ``oneline`` with letters in UTF-8, and the
way back from a line stored in OpenSSL's escaped form."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from certificates import crypto

LETTERS = crypto.Subject(
    country="FR",
    state="Île-de-France",
    locality="Orléans",
    organization="Ωmega 日本",
    organizational_unit="Équipe",
    common_name="acme.com",
    email="it@acme.com",
)


def test_letters_in_utf8_and_openssls_other_escapes_kept() -> None:
    assert LETTERS.human_oneline() == (
        "C = FR, ST = Île-de-France, L = Orléans, O = Ωmega 日本, OU = Équipe, CN = acme.com, "
        "emailAddress = it@acme.com"
    )
    tricky = crypto.Subject("FR", 'a "b" \\ c', " lead", "x, y", "#hash", "acme.com", "a@b.co")
    assert tricky.human_oneline() == tricky.openssl_oneline()  # ASCII: the same line


def test_invisible_characters_stay_escaped() -> None:
    """A right-to-left override or a zero-width space would change what the reader sees: they
    keep OpenSSL's escapes, in both directions."""
    subject = crypto.Subject("FR", "Île\u202eevil", "a\u200bb", "Org", "", "acme.com", "a@b.co")
    line = subject.human_oneline()
    assert "ST = Île\\E2\\80\\AEevil" in line
    assert "L = a\\E2\\80\\8Bb" in line
    assert crypto.human_subject(subject.openssl_oneline()) == line


def test_human_subject_decodes_only_whole_utf8_letters() -> None:
    assert crypto.human_subject("ST = \\C3\\8Ele") == "ST = Île"
    # An escaped backslash followed by hex digits is text, not a byte.
    assert crypto.human_subject("O = a\\\\C3\\\\8E") == "O = a\\\\C3\\\\8E"
    # A control character keeps its escape; a lone or broken byte stays as it was.
    assert crypto.human_subject("O = a\\0Ab") == "O = a\\0Ab"
    assert crypto.human_subject("O = \\FF\\C3\\A9\\C3") == "O = \\FFé\\C3"
    assert crypto.human_subject("") == ""
    assert crypto.human_subject("plain") == "plain"


@given(st.text(min_size=1, max_size=40))
def test_the_way_back_from_the_escaped_form_is_the_readable_form(value: str) -> None:
    """For any value: readable(escaped line) == readable line, and readable is a fixed point."""
    subject = crypto.Subject("FR", value, "", "", "", "acme.com", "")
    readable = subject.human_oneline()
    assert crypto.human_subject(subject.openssl_oneline()) == readable
    assert crypto.human_subject(readable) == readable
