"""Every write of certdesk goes through a function here (HackSoft style: ``<entity>_<action>``).

Each records an audit event in the same transaction, so a change and its record stand or fall
together.
"""

from certificates.services.audit import Actor, audit_record
from certificates.services.certificates import UploadResult, certificate_upload
from certificates.services.encryption import encryption_keys_rotate
from certificates.services.errors import ServiceError
from certificates.services.keys import KeyExport, key_export
from certificates.services.requests import request_create, request_import
from certificates.services.setup import FirstRunClosedError, first_admin_create

__all__ = [
    "Actor",
    "FirstRunClosedError",
    "KeyExport",
    "ServiceError",
    "UploadResult",
    "audit_record",
    "certificate_upload",
    "encryption_keys_rotate",
    "first_admin_create",
    "key_export",
    "request_create",
    "request_import",
]
