"""The CSR subject: Treezor's table of fields, their validation and their OpenSSL rendering.

Treezor's page, "2. Create your CSR files", lists Country, State / Province, Locality,
Organization Name, Organizational Unit (optional), Common Name and Email. Rule 4 of DESIGN.md adds
the real ISO 3166-1 list, host-name Common Names and the upper bounds of RFC 5280.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, fields
from urllib.parse import urlsplit

import pycountry
from cryptography import x509
from cryptography.x509.oid import NameOID

from .errors import FIELD_LABELS, CryptoError, SubjectError

# (field, OID, OpenSSL short name) in the order `openssl req` writes a subject.
_ATTRIBUTES: tuple[tuple[str, x509.ObjectIdentifier, str], ...] = (
    ("country", NameOID.COUNTRY_NAME, "C"),
    ("state", NameOID.STATE_OR_PROVINCE_NAME, "ST"),
    ("locality", NameOID.LOCALITY_NAME, "L"),
    ("organization", NameOID.ORGANIZATION_NAME, "O"),
    ("organizational_unit", NameOID.ORGANIZATIONAL_UNIT_NAME, "OU"),
    ("common_name", NameOID.COMMON_NAME, "CN"),
    ("email", NameOID.EMAIL_ADDRESS, "emailAddress"),
)

# RFC 5280, appendix A.1: ub-common-name, ub-organization-name, ub-organizational-unit-name 64;
# ub-locality-name, ub-state-name 128. Email: 128, as DESIGN.md rule 4 sets it.
# The seven fields of Treezor's table, in its order: the one list models, forms, services and
# the command line derive theirs from.
SUBJECT_FIELDS: tuple[str, ...] = (
    "country",
    "state",
    "locality",
    "organization",
    "organizational_unit",
    "common_name",
    "email",
)

MAX_LENGTHS: dict[str, int] = {
    "country": 2,
    "state": 128,
    "locality": 128,
    "organization": 64,
    "organizational_unit": 64,
    "common_name": 64,
    "email": 128,
}

# What each required field is, in the words of Treezor's table.
_REQUIRED_HINTS: dict[str, str] = {
    "country": "a two-letter ISO 3166-1 code such as FR",
    "state": "the state or province where the organization is located (e.g. Brittany, IdF)",
    "locality": "the locality or city where the organization is located",
    "organization": "the legal name of the organization",
    "common_name": "the host name of your company, such as yourcompany.com",
    "email": "the email address of the organization",
}

# Two-letter codes people use that ISO 3166-1 does not assign.
_COMMON_MISTAKES = {"UK": "GB (United Kingdom)", "EL": "GR (Greece)", "EU": "the member state's"}

_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_LETTERS2 = re.compile(r"[A-Za-z]{2}")
_LETTERS3 = re.compile(r"[A-Za-z]{3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 5322 dot-atom local part, ASCII only: emailAddress is an IA5String (RFC 5280, A.1).
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@dataclass(frozen=True)
class Subject:
    """A CSR subject as Treezor's table lists it; empty strings stand for absent attributes."""

    country: str
    state: str
    locality: str
    organization: str
    organizational_unit: str
    common_name: str
    email: str

    def _present(self) -> Iterator[tuple[x509.ObjectIdentifier, str, str]]:
        for field, oid, short_name in _ATTRIBUTES:
            value: str = getattr(self, field)
            if value:
                yield oid, short_name, value

    def to_x509_name(self) -> x509.Name:
        """C, ST, L, O, OU, CN, emailAddress, as `openssl req` orders them; empty ones left out.

        cryptography encodes C as PrintableString, emailAddress as IA5String and the rest as
        UTF8String, which is what `openssl req` writes with its default ``utf8only`` mask.
        """
        return x509.Name([x509.NameAttribute(oid, value) for oid, _, value in self._present()])

    @classmethod
    def from_x509_name(cls, name: x509.Name) -> Subject:
        """The subject fields of ``name`` (first value of each); missing ones become ""."""
        values: dict[str, str] = {}
        for field, oid, _ in _ATTRIBUTES:
            found = name.get_attributes_for_oid(oid)
            raw = found[0].value if found else ""
            values[field] = raw.decode("latin-1") if isinstance(raw, bytes) else raw
        return cls(**values)

    def openssl_oneline(self) -> str:
        """The subject as OpenSSL 3 prints it by default, without the leading ``subject=``.

        ``C = FR, ST = Brittany, L = Rennes, O = Acme, OU = IT, CN = acme.com, emailAddress =
        it@acme.com``: what `openssl req -noout -subject` and `openssl x509 -noout -subject`
        show (their default name option, ``oneline``), escaping included.
        """
        return ", ".join(
            f"{short_name} = {_openssl_escape(value)}" for _, short_name, value in self._present()
        )

    def human_oneline(self) -> str:
        """The same line for people to read: letters in UTF-8, not OpenSSL's ``\\XX`` escapes.

        ``ST = Île-de-France`` where :meth:`openssl_oneline` writes ``ST = \\C3\\8Ele-de-France``:
        what ``openssl req -noout -subject -nameopt oneline,-esc_msb`` prints. Quoting, the
        escaped ``\\`` and ``"`` and control characters (``\\0A``) stay as OpenSSL writes them,
        so a value cannot pretend to be two fields.
        """
        return ", ".join(
            f"{short_name} = {_openssl_escape(value, utf8=True)}"
            for _, short_name, value in self._present()
        )

    def as_dict(self) -> dict[str, str]:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def name_openssl_oneline(name: x509.Name, *, utf8: bool = False) -> str:
    """Every attribute of ``name`` in its encoded order, as OpenSSL 3 prints it by default.

    Unlike :meth:`Subject.openssl_oneline`, which formats certdesk's fields in the table's
    order, this shows what the CSR itself holds (an imported CSR may order its attributes
    differently): ``openssl req -noout -subject`` of the stored file, escaping included.
    Attributes outside the table are shown by their dotted OID; several in one part are joined
    by `` + ``, as OpenSSL does. With ``utf8``, letters beyond ASCII are written as themselves
    (``-nameopt oneline,-esc_msb``), for people to read: see :func:`name_human_oneline`.
    """
    short_names = {oid: short for _, oid, short in _ATTRIBUTES}
    parts = []
    for rdn in name.rdns:
        values = []
        for attribute in rdn:
            raw = attribute.value
            value = raw.decode("latin-1") if isinstance(raw, bytes) else raw
            label = short_names.get(attribute.oid, attribute.oid.dotted_string)
            values.append(f"{label} = {_openssl_escape(value, utf8=utf8)}")
        parts.append(" + ".join(values))
    return ", ".join(parts)


def name_human_oneline(name: x509.Name) -> str:
    """:func:`name_openssl_oneline` for people: ``ST = Île-de-France``, not ``\\C3\\8E...``."""
    return name_openssl_oneline(name, utf8=True)


def _load_csr(csr_pem: bytes) -> x509.CertificateSigningRequest:
    try:
        return x509.load_pem_x509_csr(csr_pem)
    except ValueError as error:
        raise CryptoError("The stored CSR cannot be read.", code="csr_unreadable") from error


def csr_subject_oneline(csr_pem: bytes) -> str:
    """The subject of a stored CSR exactly as it is in the file (see name_openssl_oneline)."""
    return name_openssl_oneline(_load_csr(csr_pem).subject)


def csr_subject_human(csr_pem: bytes) -> str:
    """The subject of a stored CSR in its own order, letters in UTF-8 (name_human_oneline)."""
    return name_human_oneline(_load_csr(csr_pem).subject)


# One OpenSSL escape: of a byte, as in \C3, or of a character, as in \\ or \".
_ESCAPE = re.compile(r"\\(?:([0-9A-Fa-f]{2})|(.))", re.DOTALL)


def human_subject(text: str) -> str:
    """A subject line written by OpenSSL (``oneline``) with its letters back in UTF-8.

    ``ST = \\C3\\8Ele-de-France`` becomes ``ST = Île-de-France``. Only the escapes of bytes
    above 0x7f that spell whole UTF-8 characters are turned back into letters; ``\\\\``,
    ``\\"`` and control characters (``\\0A``) keep their escapes, and anything that is not valid
    UTF-8 is left exactly as it was. A line already in that form comes back unchanged, so
    certificates stored before and after issue 16 read the same. Invisible characters (format
    and control characters beyond ASCII: bidirectional overrides, zero-width spaces) keep their
    escapes too, so what is shown is what the certificate holds.
    """
    out: list[str] = []
    pending: list[tuple[int, str]] = []  # escaped high bytes, decoded together

    def flush() -> None:
        if pending:
            out.append(_readable(bytes(byte for byte, _ in pending)))
            pending.clear()

    position = 0
    for match in _ESCAPE.finditer(text):
        if match.start() != position:
            flush()
            out.append(text[position : match.start()])
        position = match.end()
        hex_digits = match.group(1)
        if hex_digits is not None and int(hex_digits, 16) > 0x7F:
            pending.append((int(hex_digits, 16), match.group(0)))
            continue
        flush()
        out.append(match.group(0))
    flush()
    out.append(text[position:])
    return "".join(out)


def check_table_name(name: x509.Name, *, what: str = "The CSR's subject") -> None:
    """Refuse a name certdesk could not show whole: each attribute of Treezor's table at most once.

    ``Subject`` keeps one value per field of the table (C, ST, L, O, OU, CN, emailAddress); a
    second CN or O, an attribute outside the table (serialNumber, title, DC...) or several
    attributes in one RDN (``CN=a+O=b``) would reach Treezor in the CSR while the request page
    and the email to the TAM show only the first value of each field. Raises CryptoError
    listing every problem; messages name attributes, never quote values.
    """
    short_names = {oid: short for _, oid, short in _ATTRIBUTES}
    problems: list[str] = []
    seen: set[x509.ObjectIdentifier] = set()
    repeated: list[str] = []
    unknown: list[str] = []
    for rdn in name.rdns:
        if len(rdn) > 1:
            joined = "+".join(short_names.get(a.oid, a.oid.dotted_string) for a in rdn)
            problems.append(f"several attributes in one part ({joined})")
        for attribute in rdn:
            if attribute.oid not in short_names:
                label = attribute.oid._name
                known = label and label != "Unknown OID"
                unknown.append(
                    f"{label} ({attribute.oid.dotted_string})"
                    if known
                    else attribute.oid.dotted_string
                )
            elif attribute.oid in seen:
                repeated.append(short_names[attribute.oid])
            seen.add(attribute.oid)
    if repeated:
        problems.append("more than one " + ", ".join(dict.fromkeys(repeated)))
    if unknown:
        problems.append("attributes outside Treezor's table: " + ", ".join(unknown))
    if problems:
        raise CryptoError(
            f"{what} has {'; '.join(problems)}. certdesk accepts one value for each field of "
            "Treezor's table (C, ST, L, O, OU, CN, emailAddress) so that the request page and "
            "the email to your TAM show everything the CSR asks for. Make a new CSR with one "
            "value per field.",
            code="csr_subject",
        )


# Characters a reader cannot see or that reorder the text around them (U+202E, U+200B, U+0085):
# shown as OpenSSL's escapes of their bytes even in the readable form.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _readable(data: bytes) -> str:
    """UTF-8 bytes as letters; invalid bytes and invisible characters as ``\\XX`` escapes."""
    text = data.decode("utf-8", errors="surrogateescape")
    out = []
    for char in text:
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that was not UTF-8
            out.append(f"\\{ord(char) - 0xDC00:02X}")
        elif unicodedata.category(char) in _INVISIBLE:
            out.append("".join(f"\\{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


# OpenSSL's character classes (crypto/asn1/charmap.h) for the flags of the "oneline" name option:
# RFC 2253 escaping, with ESC_QUOTE (values that need it are put in double quotes instead),
# control characters and every byte above 0x7f written as \XX.
_BACKSLASHED = frozenset(b'"\\')
_QUOTED = frozenset(b",+;<>")


def _openssl_escape(value: str, *, utf8: bool = False) -> str:
    # Port of do_buf()/do_esc_char() in crypto/asn1/a_strex.c, on the UTF-8 bytes of the value.
    # ``utf8``: without ESC_MSB (``-nameopt oneline,-esc_msb``), bytes above 0x7f are written
    # as they are, so the UTF-8 letters come out whole.
    data = value.encode("utf-8")
    out: list[str] = []
    raw = bytearray()
    quotes = False
    last = len(data) - 1
    for index, byte in enumerate(data):
        if utf8 and byte > 0x7F:
            raw.append(byte)
            continue
        if raw:
            out.append(_readable(bytes(raw)))
            raw.clear()
        if byte > 0x7F or byte < 0x20 or byte == 0x7F:
            out.append(f"\\{byte:02X}")
        elif byte in _BACKSLASHED:
            out.append("\\" + chr(byte))
        elif byte in _QUOTED:
            quotes = True
            out.append(chr(byte))
        elif byte == 0x20 and index in (0, last):
            # A leading or trailing space needs escaping (RFC 2253): OpenSSL quotes the value.
            quotes = True
            out.append(" ")
        elif byte == 0x23 and index == 0 and last != 0:
            # So does a leading '#'. OpenSSL flags the only character of a one-character value
            # as "last", not "first", so a lone '#' is printed bare.
            quotes = True
            out.append("#")
        else:
            out.append(chr(byte))
    if raw:
        out.append(_readable(bytes(raw)))
    text = "".join(out)
    return f'"{text}"' if quotes else text


def validate_subject(
    *,
    country: str,
    state: str,
    locality: str,
    organization: str,
    organizational_unit: str,
    common_name: str,
    email: str,
) -> Subject:
    """Check and normalise the subject fields; raise SubjectError listing every problem.

    Values are stripped; Country is upper-cased. Everything else is kept as typed. The Common
    Name must be a fully qualified host name (at least two labels, RFC 1123 letters, digits and
    hyphens, not an IP address). Wildcards (``*.acme.com``) are refused: a client certificate
    names one client, and Treezor's table asks for "the fully qualified domain name".
    """
    values = {
        "country": country.strip().upper(),
        "state": state.strip(),
        "locality": locality.strip(),
        "organization": organization.strip(),
        "organizational_unit": organizational_unit.strip(),
        "common_name": common_name.strip(),
        "email": email.strip(),
    }
    errors: dict[str, str] = {}
    for field, value in values.items():
        problem = _field_problem(field, value)
        if problem is not None:
            errors[field] = problem
    if errors:
        raise SubjectError(errors)
    return Subject(**values)


def _field_problem(field: str, value: str) -> str | None:
    label = FIELD_LABELS[field]
    if not value:
        if field == "organizational_unit":  # "(optional)" in Treezor's table
            return None
        return f"{label} is required: {_REQUIRED_HINTS[field]}."
    if field == "country":
        return _country_problem(value)
    if len(value) > MAX_LENGTHS[field]:
        return (
            f"{label} is {len(value)} characters long; the limit is {MAX_LENGTHS[field]} "
            "(RFC 5280). Shorten it."
        )
    if _CONTROL.search(value):
        return f"{label} contains a control character (a tab or a line break); remove it."
    if field == "common_name":
        return _common_name_problem(value)
    if field == "email":
        return _email_problem(value)
    return None


def _country_problem(code: str) -> str | None:
    # Treezor: "The two-letter country code"; DESIGN.md rule 4: from the real list.
    if _LETTERS2.fullmatch(code):
        if pycountry.countries.get(alpha_2=code) is not None:
            return None
        hint = _COMMON_MISTAKES.get(code)
        advice = f" Use {hint} code." if hint else ""
        return f"'{code}' is not an ISO 3166-1 country code.{advice}"
    message = "Country must be a two-letter ISO code such as FR"
    if _LETTERS3.fullmatch(code):
        message += f"; '{code}' is three letters"
    else:
        message += f"; '{code}' is not one"
    found = _lookup_country(code)
    if found is not None:
        message += f" (the code of {found[1]} is {found[0]})"
    return message + "."


def _lookup_country(text: str) -> tuple[str, str] | None:
    try:
        country = pycountry.countries.lookup(text)
    except LookupError:
        return None
    return str(country.alpha_2), str(country.name)


def is_host_name(value: str) -> bool:
    """A fully qualified host name: RFC 1123 labels, at least two, not an IPv4 address."""
    if not value or len(value) > 253 or not value.isascii():
        return False
    labels = value.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return False
    # A top-level label is never all digits (RFC 3696, section 2): that is an IP address.
    return not labels[-1].isdigit()


def suggest_common_name(value: str) -> str | None:
    """The host name inside a URL-ish value, lowercased, or None.

    ``https://yourcompany.com/`` (Treezor's own example), ``yourcompany.com:443``,
    ``http://yourcompany.com/path``, ``it@yourcompany.com``, ``*.yourcompany.com`` and
    ``yourcompany.com.`` all give ``yourcompany.com``; an internationalised name gives its IDNA
    form. None when no host name can be found, or the value is already exactly that host name.
    """
    text = value.strip()
    if not text:
        return None
    candidate = text if "//" in text else "//" + text
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.rstrip(".")
    if host.startswith("*."):
        host = host[2:]
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    host = host.lower()
    if not is_host_name(host) or host == text:
        return None
    return host


def _common_name_problem(value: str) -> str | None:
    if is_host_name(value):
        return None
    suggestion = suggest_common_name(value)
    if suggestion is not None:
        if value.startswith("*."):
            why = "cannot be a wildcard: a client certificate names one host"
        elif "@" in value and "//" not in value:
            why = "must be a host name, not an email address (that goes in Email)"
        elif not value.isascii():
            why = "must be written in ASCII (the IDNA form of the name)"
        else:
            why = "must be a host name only, without a scheme such as https://, a port or a path"
        return f"Common Name {why}: use '{suggestion}' instead of '{value}'."
    labels = value.split(".")
    if all(label.isdigit() for label in labels):
        return "Common Name must be a host name such as yourcompany.com, not an IP address."
    if len(labels) == 1 and _LABEL.fullmatch(value):
        return (
            f"Common Name must be a fully qualified domain name such as yourcompany.com; "
            f"'{value}' has no domain."
        )
    return (
        "Common Name must be a host name such as yourcompany.com: dot-separated labels of "
        "letters, digits and hyphens, each at most 63 characters, not starting or ending with "
        "a hyphen."
    )


def _email_problem(value: str) -> str | None:
    generic = "Email must be an address such as it@yourcompany.com."
    if not value.isascii():
        return (
            "Email must be written in ASCII characters: the certificate stores it as an IA5String."
        )
    if value.count("@") != 1:
        return generic
    local, domain = value.split("@")
    if len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local) or not is_host_name(domain):
        return generic
    return None
