"""Personal data: a person's export, their erasure by an admin, and the retention rule.

Erasure keeps every decision and record a case needs and removes the person from it: their
name, e-mail address and network address are replaced by a stable pseudonym wherever they
appear (cases, signatures, comments, the audit trail and its payloads, e-mails), their account
is closed, their tokens revoked, their unsent mail dropped and the files they uploaded that no
case needs are deleted. The audit trail is append-only and kept as hash chains
(``webapp.models.audit``): erasure records the new digest of every event it rewrites in its
own chained event, retention deletes whole case chains and records their last hashes, so
``citypair audit verify`` passes after both. On PostgreSQL both go through functions owned by
the schema owner (``webapp.operations.audit``), the only way the application's role has to
change or delete an event.
"""

from webapp.operations.privacy.erasure import (
    ERASED,
    Erasure,
    Scrubber,
    erase_person,
    erasure_preview,
    people,
    pseudonym,
    pseudonym_email,
)
from webapp.operations.privacy.export import (
    export_json,
    export_person,
)
from webapp.operations.privacy.retention import (
    Retention,
    apply_retention,
    expired_cases,
    programme_cutoffs,
    unsuccessful_states,
)

__all__ = [
    "ERASED", "Erasure", "Retention", "Scrubber", "apply_retention", "erase_person",
    "erasure_preview", "expired_cases", "export_json", "export_person", "people",
    "programme_cutoffs", "pseudonym", "pseudonym_email", "unsuccessful_states",
]
