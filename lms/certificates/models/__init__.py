"""Certificate models, one entity per module."""

from lms.certificates.models.certificate import Certificate, IssueKind, Status, valid_on
from lms.certificates.models.certificate_type import CertificateType
from lms.certificates.models.outbox import OutboxMessage
from lms.certificates.models.serial import SerialCounter
from lms.certificates.models.template import CertificateTemplate

__all__ = [
    "Certificate",
    "CertificateTemplate",
    "CertificateType",
    "IssueKind",
    "OutboxMessage",
    "SerialCounter",
    "Status",
    "valid_on",
]
