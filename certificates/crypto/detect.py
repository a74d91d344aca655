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

# Base64 found in text: whole lines of base64 (a PEM body, `base64` output), or one long token
# inside a line (a key pasted into a sentence). Lines shorter than 16 characters never start a
# run, so a word alone on a line before a pasted body does not shift its decoding.
_B64_LINE = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
# Possessive: no backtracking, so finditer stays linear on long lines.
_B64_TOKEN = re.compile(rb"[A-Za-z0-9+/]{16,}+={0,2}+")
_LONG_TOKEN = 64
# Enough base64 to see the first fields of an RSA key up to 8192 bits; detection never needs more.
_B64_PREFIX = 8192

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
    """A short description of the private-key material in ``data`` (for messages), or None."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    match = _PEM_PRIVATE.search(data)
    if match is not None:
        label = match.group()[len(b"BEGIN ") :].decode("ascii")
        return f"a private key (a PEM '{label}' block)"
    if _PUTTY.search(data):
        return "a private key (a PuTTY key file)"
    found = _der_private_key(data if data.startswith(b"\x30") else data.strip())
    if found is not None:
        return found
    for candidate in _base64_candidates(data):
        decoded = _decode_prefix(candidate)
        if decoded is not None:
            found = _der_private_key(decoded)
            if found is not None:
                return f"{found}, base64-encoded"
    return None


def _der_private_key(buf: bytes) -> str | None:
    if buf.startswith(_OPENSSH_MAGIC):
        return "a private key (OpenSSH format)"
    outer = read_tlv(buf, 0)
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


def _base64_candidates(data: bytes) -> Iterator[bytes]:
    """Stretches of base64 in ``data`` that could decode to a DER structure.

    Each is cut to a prefix of _B64_PREFIX characters, so the whole scan stays linear.
    """
    run: list[bytes] = []
    size = 0

    def flush() -> Iterator[bytes]:
        # Also try from the 2nd and 3rd line, in case the first was an ordinary long word.
        for skip in range(min(3, len(run))):
            yield b"".join(run[skip:])[:_B64_PREFIX]

    for raw in data.splitlines():
        line = raw.strip()
        if run and _B64_LINE.fullmatch(line):
            if size < _B64_PREFIX + 256:
                run.append(line)
                size += len(line)
            continue
        if run:
            yield from flush()
            run, size = [], 0
        last = None
        for last in _B64_TOKEN.finditer(line):
            if last.end() - last.start() >= _LONG_TOKEN:
                yield last.group()[:_B64_PREFIX]
        if last is not None and last.end() == len(line):
            # Base64 that ends the line may go on over the next lines ("key: MIIEv...").
            run, size = [last.group()], last.end() - last.start()
    if run:
        yield from flush()


def _decode_prefix(text: bytes) -> bytes | None:
    # A prefix decodes on its own once cut at the padding and re-padded; the shape checks never
    # need more than the first fields.
    text = text.split(b"=", 1)[0]
    if len(text) % 4 == 1:
        text = text[:-1]
    if len(text) < 8:
        return None
    return decode_base64(text + b"=" * (-len(text) % 4))
