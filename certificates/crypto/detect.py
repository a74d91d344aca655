"""Recognising private-key material wherever it hides (rule 6 of DESIGN.md).

Treezor's page is blunt: "Don't send your private keys, only the CSR files. If you were to send us
your private key, you would have to generate new ones". certdesk refuses any upload or paste that
carries a key, before anything else looks at it. Detection is structural, never a full parse, so
it costs one linear pass over the input whatever its size, and never runs a key-derivation
function whose cost the input chooses (a PKCS#12 file names its own iteration count).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ._encoding import UTF8_BOM, Tlv, children, content, decode_base64, read_tlv
from .errors import PrivateKeyMaterialError

_SEQUENCE, _INTEGER, _OCTET_STRING, _OID = 0x30, 0x02, 0x04, 0x06

# Any "-----BEGIN ... PRIVATE KEY-----" armour: PKCS#1, PKCS#8, encrypted PKCS#8, SEC1 EC, DSA,
# OpenSSH, PGP ("PRIVATE KEY BLOCK"). The dashes are not required (pasted text loses them); the
# bounded middle keeps the search linear.
_PEM_PRIVATE = re.compile(rb"BEGIN ([A-Z0-9]++ ){0,4}PRIVATE KEY")
_PUTTY = re.compile(rb"PuTTY-User-Key-File-\d")

# Before looking for base64 or hex, the text is normalised: markup tags go, then every character
# outside the alphabet (spaces, line breaks, quote marks, punctuation). A key cut into lines of
# any width, indented, quoted or spread over HTML lines becomes one run again. Prose merged into
# the run only shifts where the key starts, and the run is decoded at every possible alignment.
_TAG = re.compile(rb"<[^<>]{0,200}>")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]+")
_HEX_SEPARATORS = re.compile(rb"0[xX]|\\x|[^0-9A-Fa-f]+")
# Runs shorter than a DER header and a few fields cannot hold a key.
_B64_RUN = re.compile(rb"[A-Za-z0-9+/]{16,}")
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]{32,}")
# Armour with its spaces and line breaks removed ("BEGIN RSA PRIV\nATE KEY" pasted in pieces).
_PEM_PRIVATE_SQUASHED = re.compile(rb"BEGIN[A-Z0-9]{0,24}PRIVATEKEY")
_PUTTY_SQUASHED = re.compile(rb"PuTTY-User-Key-File-\d")
_SPACE = re.compile(rb"\s+")
# Where a key may start in decoded bytes: a SEQUENCE whose first field is a version INTEGER
# followed by an INTEGER (PKCS#1, DSA), an AlgorithmIdentifier (PKCS#8, PFX) or an OCTET STRING
# (SEC1); or an AlgorithmIdentifier naming a PKCS#5/PKCS#12 cipher (encrypted PKCS#8). A
# lookahead, so overlapping candidates are all seen; each is then checked by shape.
_DER_LENGTH = rb"(?:[\x00-\x7f]|\x81.|\x82..|\x83...|\x84....)"
_DER_KEY_START = re.compile(
    rb"(?=\x30"
    + _DER_LENGTH
    + rb"(?:\x02\x01(?:[\x00\x01][\x02\x30\x04]|\x03\x30)|\x30"
    + _DER_LENGTH
    + rb"\x06.\x2a\x86\x48\x86\xf7\x0d\x01[\x05\x0c]))",
    re.DOTALL,
)

# OID content octets.
_PKCS5 = bytes.fromhex("2a864886f70d0105")  # 1.2.840.113549.1.5: PBES1/PBES2
_PKCS12_PBE = bytes.fromhex("2a864886f70d010c01")  # 1.2.840.113549.1.12.1: PKCS#12 PBE
_PKCS7_DATA = bytes.fromhex("2a864886f70d010701")
_PKCS7_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")
_OPENSSH_MAGIC = b"openssh-key-v1\x00"


def contains_private_key_material(data: bytes) -> bool:
    """True if ``data`` holds a private key in any common form, alone or inside other text.

    Recognised: any PEM ``-----BEGIN ... PRIVATE KEY-----`` block; DER PKCS#1 (RSA, and DSA's
    OpenSSL form), PKCS#8 (plain or encrypted) and SEC1 (EC) keys; PKCS#12/PFX files (they are
    built to carry keys and their content is encrypted, so any PFX counts); OpenSSH and PuTTY
    keys; and the base64 of any of these, with or without armour, anywhere in a text.
    """
    return find_private_key_material(data) is not None


def ensure_no_private_key_material(data: bytes) -> None:
    """Raise PrivateKeyMaterialError if ``data`` holds private-key material."""
    found = find_private_key_material(data)
    if found is not None:
        raise PrivateKeyMaterialError(found)


def find_private_key_material(data: bytes) -> str | None:
    """A short description of the private-key material in ``data`` (for messages), or None.

    Text is normalised first (see _NOT_BASE64): base64 cut into lines of any width, hex with
    or without separators, armour split over lines, are all decoded and looked through.
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    found = _armour(data)
    if found is not None:
        return found
    found = _der_private_key(data if data.startswith(b"\x30") else data.strip())
    if found is not None:
        return found
    text = _TAG.sub(b"", data)
    squashed = _SPACE.sub(b"", text)
    if _PEM_PRIVATE_SQUASHED.search(squashed):
        return "a private key (a PEM PRIVATE KEY block, split over lines)"
    if _PUTTY_SQUASHED.search(squashed):
        return "a private key (a PuTTY key file)"
    for encoding, decoded in _decodings(text):
        found = _armour(decoded) or _der_private_key_anywhere(decoded)
        if found is not None:
            return f"{found}, {encoding}-encoded"
    return None


def _armour(data: bytes) -> str | None:
    match = _PEM_PRIVATE.search(data)
    if match is not None:
        label = match.group()[len(b"BEGIN ") :].decode("ascii")
        return f"a private key (a PEM '{label}' block)"
    if _PUTTY.search(data):
        return "a private key (a PuTTY key file)"
    return None


def _decodings(text: bytes) -> Iterator[tuple[str, bytes]]:
    """The bytes every long base64 or hex run of the normalised text decodes to, at every
    alignment (4 for base64, 2 for hex): a key starts at one of them, whatever came before."""
    for run in _B64_RUN.finditer(_NOT_BASE64.sub(b"", text)):
        chars = run.group()
        for offset in range(4):
            # Padding was removed with the punctuation: a last group of 2 or 3 characters is
            # padded again, a lone last character (never valid) dropped.
            part = chars[offset:]
            part = part[: len(part) - 1] if len(part) % 4 == 1 else part
            decoded = decode_base64(part + b"=" * (-len(part) % 4))
            if decoded:
                yield "base64", decoded
    for run in _HEX_RUN.finditer(_HEX_SEPARATORS.sub(b"", text)):
        digits = run.group()
        for offset in range(2):
            usable = (len(digits) - offset) // 2 * 2
            yield "hex", bytes.fromhex(digits[offset : offset + usable].decode("ascii"))


def _der_private_key_anywhere(buf: bytes) -> str | None:
    if _OPENSSH_MAGIC in buf:
        return "a private key (OpenSSH format)"
    for candidate in _DER_KEY_START.finditer(buf):
        found = _der_private_key(buf, candidate.start())
        if found is not None:
            return found
    return None


def _der_private_key(buf: bytes, start: int = 0) -> str | None:
    if buf.startswith(_OPENSSH_MAGIC, start):
        return "a private key (OpenSSH format)"
    outer = read_tlv(buf, start)
    if outer is None or outer.tag != _SEQUENCE:
        return None
    fields = list(children(buf, outer, 7))
    if not fields:
        return None
    tags = [field.tag for field in fields]
    version = content(buf, fields[0]) if tags[0] == _INTEGER else None
    if version == b"\x03" and _is_pfx_auth_safe(buf, fields[1:2]):
        return "a PKCS#12 (.p12/.pfx) file, which holds private keys"
    small_version = version in (b"\x00", b"\x01")
    if small_version and len(tags) >= 6 and set(tags[1:6]) == {_INTEGER}:
        # RSAPrivateKey (RFC 8017, A.1.2) or OpenSSL's DSA key: a version, then integers.
        return "a private key (DER, PKCS#1 or DSA)"
    if (
        small_version
        and tags[1:3] == [_SEQUENCE, _OCTET_STRING]
        and _first_child_is_oid(buf, fields[1])
    ):
        # PrivateKeyInfo / OneAsymmetricKey (RFC 5958, section 2).
        return "a private key (DER, PKCS#8)"
    if version == b"\x01" and tags[1:2] == [_OCTET_STRING] and set(tags[2:]) <= {0xA0, 0xA1}:
        # ECPrivateKey (RFC 5915, section 3).
        return "a private key (DER, SEC1 EC)"
    if tags == [_SEQUENCE, _OCTET_STRING]:
        oid = _first_oid(buf, fields[0])
        if oid is not None and oid.startswith((_PKCS5, _PKCS12_PBE)):
            # EncryptedPrivateKeyInfo (RFC 5958, section 3).
            return "an encrypted private key (DER, PKCS#8)"
    return None


def _is_pfx_auth_safe(buf: bytes, fields: list[Tlv]) -> bool:
    # PFX (RFC 7292, section 4): version 3, then a ContentInfo of type data or signedData.
    if not fields or fields[0].tag != _SEQUENCE:
        return False
    oid = _first_oid(buf, fields[0])
    return oid in (_PKCS7_DATA, _PKCS7_SIGNED_DATA)


def _first_child_is_oid(buf: bytes, parent: Tlv) -> bool:
    return any(child.tag == _OID for child in children(buf, parent, 1))


def _first_oid(buf: bytes, parent: Tlv) -> bytes | None:
    for child in children(buf, parent, 1):
        if child.tag == _OID:
            return content(buf, child)
    return None
