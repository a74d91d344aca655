"""The outgoing guard on a notification (issue 18): the emails' detector of private-key material,
used when a notification is queued (events.py) and again when it is sent (delivery.py)."""

from __future__ import annotations

from certificates import emails

REFUSED_REASON = "Refused by the outgoing guard: it carried private-key material."


def carries_key_material(*parts: str) -> bool:
    """The outgoing guard of the emails (``emails.carries_private_key``), on a notification's
    parts: the same detector, whatever the channel."""
    probe = emails.build_message(
        to=[],
        subject="certdesk notification",
        body_text="\n".join(parts),
        body_html="",
        attachments=[],
        message_id="<probe@certdesk.invalid>",
    )
    return emails.carries_private_key(probe)
