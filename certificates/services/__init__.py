"""Every write of certdesk goes through a function here (HackSoft style: ``<entity>_<action>``).

Each records an audit event in the same transaction, so a change and its record stand or fall
together.
"""

from certificates.services.audit import Actor, audit_record
from certificates.services.errors import ServiceError
from certificates.services.setup import FirstRunClosedError, first_admin_create

__all__ = ["Actor", "FirstRunClosedError", "ServiceError", "audit_record", "first_admin_create"]
