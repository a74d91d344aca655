"""The expiry scan: the TAM's renewal email a month ahead, the owners' reminders at each threshold.

Exactly once (rule 9), in three steps (:mod:`.scan`):

1. **Select** the candidates and their recorded reminders (one query each, whatever the count:
   :func:`certificates.selectors.reminders.reminder_candidates`) and work out, in Python, which
   reminder rows are missing (:func:`~certificates.selectors.reminders.reminders_due`).
2. **Insert** them all, ``pending``, in one ``bulk_create(ignore_conflicts=True)``. The unique
   constraints make an insert that another scan got to first a no-op, so a (certificate, kind,
   threshold) has one row for ever, and a row exists before its email does (django-ca records
   after sending, without a constraint: two runs send twice).
3. **Claim** the ``pending`` rows, a batch per transaction (:mod:`.claim`:
   ``select_for_update(skip_locked=True)`` and still ``pending``): of two scans only the one
   holding a row sees it pending, and only it decides, so each scan reports exactly what it
   did. :func:`reminder_decide` (:mod:`.decide`) then says what becomes of each: ``skipped``
   with the reason (a tighter threshold is due: one catch-up email, not a burst; nobody to
   email; the certificate stopped needing it since), or the email to compose (:mod:`.compose`,
   in the words of :mod:`.wording`), store in the outbox (which queues the Celery task on
   commit) and mark ``sending``. A row left ``pending`` by a scan that died between 2 and 3 is
   decided by the next one.

The dry run (:mod:`.dry_run`) asks the same :func:`reminder_decide` about the same rows (those
pending now and those step 2 would insert), in the same order; it only leaves out the writes and
the sends, so ``send_reminders --dry-run`` lists what the next scan sends. What both report is
:mod:`.report` (:class:`ScanReport`, one :class:`ReminderOutcome` per row).

Renewals prepared by the scan (issue 11, point 7; :mod:`.prepare`): when the environment asks
for it (:func:`~certificates.selectors.reminders.prepares_renewals`) and no renewal request
exists yet, the TAM's email is the moment the scan makes one (a new key, the subject of the
certificate being renewed), attaches its CSR and marks it sent, all in the transaction that
claimed the TAM row: that claim is what makes it happen once, whichever scans run at the same
time. Without a TAM address nothing is prepared (the TAM row is skipped, and the owners read
why).

Finally the scan queues again the outbox emails no worker is going to send by itself (see
:func:`certificates.services.outbox.outbound_email_requeue_stale`).
"""

from certificates.services.reminders.compose import (
    InFlight,
    owner_recipients,
    owner_reminder_compose,
    renewal_in_flight,
    tam_renewal_compose,
)
from certificates.services.reminders.decide import IN_FLIGHT, Decision, reminder_decide
from certificates.services.reminders.prepare import SYSTEM
from certificates.services.reminders.report import OutcomeStatus, ReminderOutcome, ScanReport
from certificates.services.reminders.scan import expiry_scan, reminders_insert
from certificates.services.reminders.wording import (
    NO_LONGER_DUE,
    certificate_label,
    expiry_phrase,
    renewal_wizard_url,
    tam_note_for,
)

__all__ = [
    "IN_FLIGHT",
    "NO_LONGER_DUE",
    "SYSTEM",
    "Decision",
    "InFlight",
    "OutcomeStatus",
    "ReminderOutcome",
    "ScanReport",
    "certificate_label",
    "expiry_phrase",
    "expiry_scan",
    "owner_recipients",
    "owner_reminder_compose",
    "reminder_decide",
    "reminders_insert",
    "renewal_in_flight",
    "renewal_wizard_url",
    "tam_note_for",
    "tam_renewal_compose",
]
