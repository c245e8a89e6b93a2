"""Logging filters for the server log.

An expected refusal (a 403 for someone without the role, a 404 for what they may not see) is one line
in the log, as Django writes a 404: the traceback Django attaches to ``PermissionDenied`` tells an
operator nothing about a client's mistake. Real errors (5xx) keep theirs.

A 401 is not even a mistake: every docker or skopeo session starts with one (the challenge it
answers with credentials), so "Unauthorized: /v2/" is not logged at all. With the access log on
(WHARF_ACCESS_LOG), every refusal is already its one line there, so Django's line is left out too:
one line per request at most.
"""

from __future__ import annotations

import logging

EXPECTED_STATUSES = frozenset({400, 401, 403, 404, 405})


class OneLineRefusals(logging.Filter):
    def __init__(self, access_log: bool = False) -> None:
        super().__init__()
        self.access_log = access_log

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not record.name.startswith("django.") or status not in EXPECTED_STATUSES:
            return True
        if status == 401 or self.access_log:
            return False
        record.exc_info = None
        record.exc_text = None
        return True
