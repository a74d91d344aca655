"""Every write of certdesk goes through a function here (HackSoft style: ``<entity>_<action>``).

Each records an audit event in the same transaction, so a change and its record stand or fall
together.
"""

from certificates.services.audit import Actor, audit_record
from certificates.services.certificate_export import CertificateFile, certificate_export
from certificates.services.certificates import UploadResult, certificate_upload
from certificates.services.company import company_profile_update
from certificates.services.encryption import encryption_keys_rotate
from certificates.services.environments import (
    environment_create,
    environment_update,
    membership_remove,
    membership_set,
)
from certificates.services.errors import ServiceError
from certificates.services.invitations import (
    InvitationLinkError,
    invitation_accept,
    invitation_create,
    invitation_resend,
)
from certificates.services.keys import KeyExport, key_export
from certificates.services.outbox import outbound_email_deliver, outbound_email_queue
from certificates.services.people import second_factor_reset, user_deactivate, user_reactivate
from certificates.services.requests import (
    request_cancel,
    request_cancel_check,
    request_create,
    request_import,
    request_import_check,
)
from certificates.services.setup import (
    FirstRunClosedError,
    first_admin_create,
    setup_code_announce,
    setup_code_issue,
)
from certificates.services.tam import request_mark_sent, tam_resend, tam_send

__all__ = [
    "Actor",
    "CertificateFile",
    "FirstRunClosedError",
    "InvitationLinkError",
    "KeyExport",
    "ServiceError",
    "UploadResult",
    "audit_record",
    "certificate_export",
    "certificate_upload",
    "company_profile_update",
    "encryption_keys_rotate",
    "environment_create",
    "environment_update",
    "first_admin_create",
    "invitation_accept",
    "invitation_create",
    "invitation_resend",
    "key_export",
    "membership_remove",
    "membership_set",
    "outbound_email_deliver",
    "outbound_email_queue",
    "request_cancel",
    "request_cancel_check",
    "request_create",
    "request_import",
    "request_import_check",
    "request_mark_sent",
    "second_factor_reset",
    "setup_code_announce",
    "setup_code_issue",
    "tam_resend",
    "tam_send",
    "user_deactivate",
    "user_reactivate",
]
