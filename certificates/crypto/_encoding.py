"""PEM, base64 and DER plumbing shared by the parsers (private to the package).

The parsers read PEM themselves instead of handing whole uploads to ``cryptography``: that way
text around blocks is ignored, every block is accounted for (a CSR pasted among certificates is
refused, not skipped), and CRLF, indentation and a UTF-8 byte-order mark do no harm.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import CryptoError

UTF8_BOM = b"\xef\xbb\xbf"
# A CSR is about 1 KB and a certificate chain a few KB; a megabyte is a wrong file.
MAX_INPUT_BYTES = 1024 * 1024

# Labels are uppercase letters, digits and spaces (RFC 7468, section 3).
_PEM_MARKER = re.compile(rb"-----(BEGIN|END) ([A-Z0-9][A-Z0-9 ]*)-----")
_WHITESPACE = re.compile(rb"\s+")
_BASE64_TEXT = re.compile(rb"[A-Za-z0-9+/=\s]+")


@dataclass(frozen=True)
class PemBlock:
    label: str
    der: bytes
    # RFC 1421 headers such as "Proc-Type: 4,ENCRYPTED" (only legacy encrypted keys have them).
    has_headers: bool


def normalise(data: bytes) -> bytes:
    """Drop a UTF-8 byte-order mark and surrounding whitespace (editors on Windows add both).

    DER (it starts with a SEQUENCE tag, 0x30) is left whole: its last bytes are binary and may
    well be 0x0a or 0x20, which stripping would cut off.
    """
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    return data if data.startswith(b"\x30") else data.strip()


def check_size(data: bytes, expected: str) -> None:
    if len(data) > MAX_INPUT_BYTES:
        raise CryptoError(
            f"This file is {len(data) // 1024} KB; {expected} is a few kilobytes at most. "
            "Check that you chose the right file.",
            code="too_large",
        )


def looks_like_pem(data: bytes) -> bool:
    return b"-----BEGIN " in data


def pem_blocks(data: bytes) -> list[PemBlock]:
    """Every PEM block in ``data``, in order; text between blocks is ignored.

    Raises CryptoError for a block that is cut short or whose base64 content is damaged: those
    are copy-and-paste accidents the user can fix, and guessing around them would hide them.
    """
    blocks: list[PemBlock] = []
    open_label: bytes | None = None
    body_start = 0
    for marker in _PEM_MARKER.finditer(data):
        kind, label = marker.group(1), marker.group(2)
        if kind == b"BEGIN":
            if open_label is not None:
                raise _truncated(open_label)
            open_label, body_start = label, marker.end()
            continue
        if open_label is None or label != open_label:
            raise CryptoError(
                f"A PEM block ends with '-----END {label.decode()}-----' but never began. "
                "Copy the whole block, from its -----BEGIN line to its -----END line.",
                code="pem_damaged",
            )
        blocks.append(_decode_block(open_label, data[body_start : marker.start()]))
        open_label = None
    if open_label is not None:
        raise _truncated(open_label)
    return blocks


def _truncated(label: bytes) -> CryptoError:
    return CryptoError(
        f"The PEM block '{label.decode()}' has no -----END line: the text was cut short. "
        "Copy the whole block, from its -----BEGIN line to its -----END line.",
        code="pem_damaged",
    )


def _decode_block(label: bytes, body: bytes) -> PemBlock:
    lines = body.splitlines()
    headers = [line for line in lines if b":" in line]
    payload = b"".join(line for line in lines if b":" not in line)
    der = decode_base64(payload)
    if der is None or not der:
        raise CryptoError(
            f"The PEM block '{label.decode()}' is damaged: its content is not valid base64. "
            "Copy the file again without editing it, or upload the file itself.",
            code="pem_damaged",
        )
    return PemBlock(label=label.decode(), der=der, has_headers=bool(headers))


def decode_base64(text: bytes) -> bytes | None:
    """Strict base64 decoding that tolerates whitespace and line breaks; None if invalid."""
    try:
        return base64.b64decode(_WHITESPACE.sub(b"", text), validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_bare_base64(data: bytes) -> bytes | None:
    """The DER inside a PEM body pasted without its BEGIN/END lines, or None."""
    if not data or not _BASE64_TEXT.fullmatch(data):
        return None
    return decode_base64(data)


# --- A very small DER reader: just enough to recognise the shape of a structure. -------------


@dataclass(frozen=True)
class Tlv:
    tag: int
    header: int  # first byte of the tag
    start: int  # first content byte
    length: int | None  # None: BER indefinite length

    @property
    def end(self) -> int | None:
        return None if self.length is None else self.start + self.length


def read_tlv(buf: bytes, pos: int) -> Tlv | None:
    """The tag-length header at ``pos``, or None when there is none (or it is implausible)."""
    header = pos
    if pos + 2 > len(buf):
        return None
    tag, first = buf[pos], buf[pos + 1]
    if tag & 0x1F == 0x1F:  # high tag numbers appear in none of the shapes we look for
        return None
    pos += 2
    if first < 0x80:
        return Tlv(tag, header, pos, first)
    count = first & 0x7F
    if count == 0:
        return Tlv(tag, header, pos, None) if tag & 0x20 else None
    if count > 4 or pos + count > len(buf):
        return None
    return Tlv(tag, header, pos + count, int.from_bytes(buf[pos : pos + count], "big"))


def children(buf: bytes, parent: Tlv, limit: int) -> Iterator[Tlv]:
    """Up to ``limit`` child headers of a constructed value.

    Tolerates a buffer that stops early (a prefix of a longer base64 paste): it yields what is
    there and stops, which is enough to recognise a structure by its first fields.
    """
    pos = parent.start
    stop = len(buf) if parent.end is None else min(parent.end, len(buf))
    for _ in range(limit):
        if pos >= stop:
            return
        child = read_tlv(buf, pos)
        if child is None:
            return
        yield child
        if child.end is None:
            return
        pos = child.end


def content(buf: bytes, tlv: Tlv) -> bytes | None:
    """The content octets of a definite-length value, or None if they are not all in ``buf``."""
    if tlv.end is None or tlv.end > len(buf):
        return None
    return buf[tlv.start : tlv.end]


_PKCS7_SIGNED_DATA = bytes.fromhex("2a864886f70d010702")  # 1.2.840.113549.1.7.2


def pkcs7_certificate_ders(der: bytes) -> list[bytes] | None:
    """The DER of each certificate in a PKCS#7 SignedData (RFC 2315, 9.1), or None.

    OpenSSL's `crl2pkcs7` writes the certificates SET in file order rather than DER's sorted
    order; cryptography then warns and falls back to BER, and says it may refuse such input in
    the future. Taking the certificates out ourselves keeps those files readable. None means
    "not this shape" (or BER indefinite lengths): the caller falls back to cryptography.
    """
    outer = read_tlv(der, 0)
    if outer is None or outer.tag != 0x30 or outer.end != len(der):
        return None
    info = list(children(der, outer, 2))
    if len(info) != 2 or info[0].tag != 0x06 or content(der, info[0]) != _PKCS7_SIGNED_DATA:
        return None
    if info[1].tag != 0xA0:
        return None
    signed_data = next(children(der, info[1], 1), None)
    if signed_data is None or signed_data.tag != 0x30 or signed_data.end is None:
        return None
    for field in children(der, signed_data, 6):
        if field.tag == 0xA0:  # certificates [0] IMPLICIT SET OF CertificateChoices
            if field.end is None or field.end > len(der):
                return None
            found = []
            for item in children(der, field, 10_000):
                if item.end is None or item.end > field.end:
                    return None
                if item.tag == 0x30:  # a Certificate; other choices are not X.509 certificates
                    found.append(der[item.header : item.end])
            return found
    return []
