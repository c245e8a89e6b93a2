"""Logging filters for the server log.

An expected refusal (a 403 for someone without the role, a 404 for what they may not see) is one line
in the log, as Django writes a 404: the traceback Django attaches to ``PermissionDenied`` tells an
operator nothing about a client's mistake. Real errors (5xx) keep theirs.
"""

from __future__ import annotations

import logging

EXPECTED_STATUSES = frozenset({400, 401, 403, 404, 405})


class OneLineRefusals(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.") and getattr(record, "status_code", None) in EXPECTED_STATUSES:
            record.exc_info = None
            record.exc_text = None
        return True
