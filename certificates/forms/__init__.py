"""Forms, one module per views module: they check the shape of input; every rule and every write
is then a service's. ``from certificates.forms import X`` keeps working for the request and
certificate forms."""

from certificates.forms.base import (
    AccessibleForm,
    DayField,
    forget_pasted_key,
    read_upload_or_text,
    upload_size_problem,
)
from certificates.forms.certificates import (
    CertificateUploadForm,
    CompromiseForm,
    RevocationConfirmedForm,
    RevokeForm,
)
from certificates.forms.core import FirstAdminForm
from certificates.forms.requests import CancelRequestForm, MarkSentForm, Pkcs12Form
from certificates.forms.wizard import (
    SUBJECT_HELP,
    SUBJECT_LABELS,
    EnvironmentPurposeForm,
    KeySourceForm,
    SubjectForm,
    country_choices,
)

__all__ = [
    "SUBJECT_HELP",
    "SUBJECT_LABELS",
    "AccessibleForm",
    "CancelRequestForm",
    "CertificateUploadForm",
    "CompromiseForm",
    "DayField",
    "EnvironmentPurposeForm",
    "FirstAdminForm",
    "KeySourceForm",
    "MarkSentForm",
    "Pkcs12Form",
    "RevocationConfirmedForm",
    "RevokeForm",
    "SubjectForm",
    "country_choices",
    "forget_pasted_key",
    "read_upload_or_text",
    "upload_size_problem",
]
