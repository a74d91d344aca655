"""Reading the audit log: verifying its chain (certificates/auditchain.py says what a link
covers and why)."""

from __future__ import annotations

from dataclasses import dataclass

from certificates import auditchain
from certificates.keyfiles import audit_key
from certificates.models import AuditEvent


@dataclass(frozen=True)
class ChainBreak:
    """One broken link: the event (None: past the end, the chain is shorter than a checkpoint)
    and what is wrong with it."""

    event_id: int | None
    problem: str


@dataclass(frozen=True)
class ChainReport:
    checked: int
    breaks: list[ChainBreak]
    checkpoint: auditchain.Checkpoint | None = None

    @property
    def intact(self) -> bool:
        return not self.breaks


LINK_BROKEN = (
    "its link to the previous event does not match: an event before it was deleted, inserted "
    "or altered"
)
CONTENT_BROKEN = (
    "its content does not match its HMAC: it was altered, or written, by someone without the "
    "audit key"
)


def audit_chain_verify(
    *, checkpoint: auditchain.Checkpoint | None = None, batch_size: int = 2000
) -> ChainReport:
    """Walk the chain in id order and report every broken link, not only the first.

    After a break the walk goes on from the event's stored hash, so that each place where the
    chain was touched is reported once. With a ``checkpoint`` (whose signature the caller has
    checked), the event at position ``checkpoint.count`` must carry ``checkpoint.head``, and
    the chain must be at least that long: deleting the newest events leaves links that verify,
    but not this.
    """
    key = audit_key()
    breaks: list[ChainBreak] = []
    expected_previous = auditchain.GENESIS_HASH
    checked = 0
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=batch_size):
        checked += 1
        if event.previous_hash != expected_previous:
            breaks.append(ChainBreak(event.pk, LINK_BROKEN))
        if auditchain.hash_of(event, key=key) != event.hash:
            breaks.append(ChainBreak(event.pk, CONTENT_BROKEN))
        if checkpoint is not None and checked == checkpoint.count and event.hash != checkpoint.head:
            breaks.append(
                ChainBreak(
                    event.pk,
                    f"it is event number {checked} but does not carry the head of the checkpoint "
                    f"of {_when(checkpoint)}: events up to it were deleted, inserted or rewritten",
                )
            )
        expected_previous = event.hash
    if checkpoint is not None and checked < checkpoint.count:
        breaks.append(
            ChainBreak(
                None,
                f"the log holds {checked} events but the checkpoint of {_when(checkpoint)} "
                f"counted {checkpoint.count}: {checkpoint.count - checked} or more were deleted "
                "(truncation)",
            )
        )
    return ChainReport(checked=checked, breaks=breaks, checkpoint=checkpoint)


def _when(checkpoint: auditchain.Checkpoint) -> str:
    return checkpoint.at.strftime("%Y-%m-%d %H:%M:%S UTC")
