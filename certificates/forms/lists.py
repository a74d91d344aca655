"""Filter forms of the list pages (all certificates, all requests, audit log).

They are GET forms: a value certdesk does not know (an old bookmark, a hand-edited address) is
shown as an error next to its field and that filter is ignored, never a server error. Each form
narrows a queryset the view has already limited to what the user may see; choices of
environments are only the user's, so a filter cannot widen that.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q, QuerySet
from django.utils import timezone

from certificates.models import AuditEvent, Certificate, Environment, Purpose, SigningRequest
from certificates.selectors import CertificateStatus


def _ignored(what: str) -> dict[str, str]:
    return {"invalid_choice": f"certdesk knows no {what} “%(value)s”; this filter was ignored."}


def _environment_field(environments: list[Environment]) -> forms.ChoiceField:
    # Slugs, not primary keys: the address says ?environment=production, and choices come from
    # the list the view already fetched, so the form costs no query of its own.
    return forms.ChoiceField(
        required=False,
        choices=[("", "All environments"), *((e.slug, e.name) for e in environments)],
        error_messages=_ignored("environment"),
    )


class ListFilterForm(forms.Form):
    """A bound GET form whose valid fields narrow a queryset; invalid ones are ignored."""

    def __init__(self, data: Any = None, *, environments: list[Environment]) -> None:
        # An empty query string is an unbound form: a first visit shows no errors.
        super().__init__(data or None)
        self.environments_by_slug = {e.slug: e for e in environments}
        self.fields["environment"] = _environment_field(environments)
        self.order_fields(self.field_order or ["environment"])

    def chosen(self) -> dict[str, Any]:
        """The filters that validated and are set; errors stay on the form for the page."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if value}

    def chosen_environment(self) -> Environment | None:
        slug = self.chosen().get("environment")
        return self.environments_by_slug.get(slug) if slug else None


class CertificateFilterForm(ListFilterForm):
    purpose = forms.ChoiceField(
        required=False,
        choices=[("", "All purposes"), *Purpose.choices],
        error_messages=_ignored("purpose"),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "All statuses"),
            *((s.value, s.value.capitalize()) for s in CertificateStatus),
        ],
        error_messages=_ignored("status"),
    )

    def filter(self, certificates: QuerySet[Certificate]) -> QuerySet[Certificate]:
        """``certificates`` must come from ``certificates_with_status`` (it filters on status)."""
        chosen = self.chosen()
        if environment := self.chosen_environment():
            certificates = certificates.filter(signing_request__environment=environment)
        if purpose := chosen.get("purpose"):
            certificates = certificates.filter(signing_request__purpose=purpose)
        if status := chosen.get("status"):
            # Q, because the type checker does not see the ``status`` annotation as a field.
            certificates = certificates.filter(Q(status=status))
        return certificates


class RequestFilterForm(ListFilterForm):
    purpose = forms.ChoiceField(
        required=False,
        choices=[("", "All purposes"), *Purpose.choices],
        error_messages=_ignored("purpose"),
    )
    status = forms.ChoiceField(
        required=False,
        choices=[("", "All statuses"), *SigningRequest.Status.choices],
        error_messages=_ignored("request status"),
    )

    def filter(self, requests: QuerySet[SigningRequest]) -> QuerySet[SigningRequest]:
        chosen = self.chosen()
        if environment := self.chosen_environment():
            requests = requests.filter(environment=environment)
        if purpose := chosen.get("purpose"):
            requests = requests.filter(purpose=purpose)
        if status := chosen.get("status"):
            requests = requests.filter(status=status)
        return requests


# Far-off years would overflow the day arithmetic and time-zone conversion of the filter (a 500);
# no audit event predates 2000 or survives past 9000.
_DATE_OPTIONS: dict[str, Any] = {
    "input_formats": ["%Y-%m-%d"],
    "error_messages": {"invalid": "Enter the date as YYYY-MM-DD; this filter was ignored."},
    "validators": [
        MinValueValidator(date(2000, 1, 1), "No event is that old; this filter was ignored."),
        MaxValueValidator(date(9000, 12, 31), "That date is too far ahead; it was ignored."),
    ],
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        # The browser's date picker sends ISO dates whatever the user's locale.
        super().__init__(format="%Y-%m-%d")


class AuditFilterForm(ListFilterForm):
    actor = forms.CharField(
        required=False,
        max_length=150,
        help_text="A user name, or cli or system.",
    )
    action = forms.CharField(
        required=False,
        max_length=64,
        help_text="Pick one, or type the start of a family: request. for every request event.",
    )
    date_from = forms.DateField(required=False, label="From", widget=DateInput(), **_DATE_OPTIONS)
    date_to = forms.DateField(required=False, label="To", widget=DateInput(), **_DATE_OPTIONS)

    def __init__(
        self, data: Any = None, *, environments: list[Environment], actions: list[str]
    ) -> None:
        super().__init__(data, environments=environments)
        self.actions = actions
        # A <datalist> offers the known actions and still accepts a typed prefix, without JS.
        self.fields["action"].widget.attrs["list"] = "audit-actions"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start: date | None = cleaned.get("date_from")
        end: date | None = cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "“To” is before “From”; both dates were ignored.")
            cleaned.pop("date_from", None)
        return cleaned

    def filter(self, events: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        chosen = self.chosen()
        if environment := self.chosen_environment():
            events = events.filter(environment=environment)
        if actor := chosen.get("actor", "").strip():
            events = events.filter(actor_label__iexact=actor)
        if action := chosen.get("action", "").strip():
            # A known action matches itself only (request.sent_to_tam is not request.sent...);
            # anything else is the start of a family: "request." or "settings".
            events = events.filter(
                Q(action=action) if action in self.actions else Q(action__startswith=action)
            )
        # Dates are days of the site's time zone, compared as instants so the index serves.
        if start := chosen.get("date_from"):
            events = events.filter(created_at__gte=_start_of(start))
        if end := chosen.get("date_to"):
            events = events.filter(created_at__lt=_start_of(end + timedelta(days=1)))
        return events


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))
