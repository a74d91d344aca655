"""The dashboard's first-run checklist: what an administrator sets up before certdesk is useful.

Five steps, in the order of the README's "first ten minutes": the company's name (Treezor's
file names start with it), a TAM address (where CSRs go), a Treezor CA (what uploads must chain
to), people invited beyond the first administrator, and a first request. Each step says whether
it is done, read from the tables (never stored), and where it is done. Four small queries,
whatever the size of the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.urls import reverse

from certificates.models import CompanyProfile, Environment, SigningRequest

# The name certdesk starts with; until it changes, file names read "company_csr_mtls.pem".
DEFAULT_COMPANY_NAME: str = CompanyProfile._meta.get_field("company_name").default


@dataclass(frozen=True)
class ChecklistItem:
    key: str
    label: str
    # What to do, or (done) what was found.
    help: str
    url: str
    link_text: str
    done: bool


@dataclass(frozen=True)
class Checklist:
    items: list[ChecklistItem]

    @property
    def done(self) -> bool:
        return all(item.done for item in self.items)

    @property
    def done_count(self) -> int:
        return sum(item.done for item in self.items)


def _first(environments: list[Environment], missing: str) -> Environment | None:
    """The first environment (Sandbox before Production: the order they were made) lacking
    ``missing``, else the first of all."""
    lacking = [e for e in environments if not getattr(e, missing)]
    candidates = lacking or environments
    return candidates[0] if candidates else None


def _environment_link(environment: Environment | None, anchor: str) -> str:
    if environment is None:
        return reverse("settings_environment_add")
    return reverse("settings_environment_edit", args=[environment.slug]) + f"#{anchor}"


def first_run_checklist() -> Checklist:
    """Where a new certdesk stands on its five setting-up steps (for administrators)."""
    profile = CompanyProfile.objects.filter(pk=1).only("company_name").first()
    company = profile.company_name.strip() if profile is not None else ""
    company_done = bool(company) and company != DEFAULT_COMPANY_NAME
    environments = list(Environment.objects.only("name", "slug", "tam_emails", "ca_bundle"))
    with_tam = [e.name for e in environments if e.tam_emails]
    with_ca = [e.name for e in environments if e.ca_bundle.strip()]
    people = len(get_user_model().objects.values_list("pk", flat=True)[:2])
    requested = SigningRequest.objects.exists()
    tam_target = _first(environments, "tam_emails")
    ca_target = _first(environments, "ca_bundle")
    return Checklist(
        items=[
            ChecklistItem(
                key="company",
                label="Name your company",
                help=f"Set: {company}."
                if company_done
                else "Treezor's file names start with it: <your.company.name>_csr_mtls.pem.",
                url=reverse("settings_company"),
                link_text="Edit the company profile" if company_done else "Set the company name",
                done=company_done,
            ),
            ChecklistItem(
                key="tam",
                label="Add your TAM's address",
                help=f"Set for {', '.join(with_tam)}."
                if with_tam
                else "certdesk emails your CSRs and revocations to your Technical Account "
                "Manager at Treezor.",
                url=_environment_link(tam_target, "id_tam_emails"),
                link_text="Add a TAM address"
                + (f" to {tam_target.name}" if tam_target is not None else ""),
                done=bool(with_tam),
            ),
            ChecklistItem(
                key="ca",
                label="Add Treezor's CA",
                help=f"Trusted for {', '.join(with_ca)}."
                if with_ca
                else "Certificates Treezor sends back must chain to it before certdesk "
                "installs them.",
                url=_environment_link(ca_target, "id_ca_bundle_file"),
                link_text="Add the CA bundle"
                + (f" to {ca_target.name}" if ca_target is not None else ""),
                done=bool(with_ca),
            ),
            ChecklistItem(
                key="people",
                label="Invite the people who request certificates or hold keys",
                help="Someone besides you has an account."
                if people > 1
                else "Each person gets a role per environment: viewer, requester or custodian.",
                url=reverse("settings_invite"),
                link_text="Invite someone",
                done=people > 1,
            ),
            ChecklistItem(
                key="request",
                label="Make a first request",
                help="A first key and CSR exist."
                if requested
                else "A new key and its CSR for Treezor, in a few steps.",
                url=reverse("wizard_start"),
                link_text="Request a certificate",
                done=requested,
            ),
        ]
    )
