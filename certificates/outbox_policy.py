"""How hard the outbox tries: the numbers shared by the send task (certificates/tasks.py, which
owns the retry schedule), the outbox service (which gives up past them) and the pages that show
an email's state (selectors/email_states.py). Constants only, below the selectors.
"""

from __future__ import annotations

from certificates.models import OutboundEmail

# Celery's retries of one send task (tasks.send_outbound_email): 1 + 8 attempts. The wait before
# retry n (n = 0, 1, ...) is RETRY_BACKOFF * 2**n seconds, capped at RETRY_BACKOFF_MAX, times a
# random factor in [0.5, 1.0] (tasks.retry_delay): 15-30 s, 30-60 s, ... up to 15-30 min, so one
# task keeps trying for 46 min to 1 h 31 min in all, and never waits longer than 30 min between
# two.
MAX_RETRIES = 8
RETRY_BACKOFF = 30
RETRY_BACKOFF_MAX = 1800
RETRY_JITTER = (0.5, 1.0)
# Past this many attempts in all (four tasks' worth: the first, then three given by the expiry
# scan after Celery's retries ran out, i.e. most of a working day), an email stays ``failed``
# for good, visible on the outbox page, and its reminder is ``failed``.
MAX_ATTEMPTS = 4 * (MAX_RETRIES + 1)

# The name the outbox queues the send task by, on commit (the service does not import the task).
SEND_TASK = "certificates.tasks.send_outbound_email"
# The same for a chat or webhook notification (issue 18): one task per row, the same numbers.
NOTIFY_TASK = "certificates.tasks.send_outbound_notification"

# The note a queued email carries while the broker cannot take its task: the pages that show
# the email's state give it as the reason it has not left yet (selectors/email_states.py).
WAITING_FOR_BROKER = "Waiting for the task queue: the email is stored, but the broker"

# The emails to Treezor's TAM: when one a person asked for finally fails, that person is told.
TAM_KINDS = (
    OutboundEmail.Kind.TAM_CSR,
    OutboundEmail.Kind.TAM_RENEWAL,
    OutboundEmail.Kind.TAM_REVOCATION,
)
