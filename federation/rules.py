"""Claim rules of a trusted issuer: ``claim == "value"`` and ``claim != "value"`` joined by ``and``.

For example ``repository == "acme/api" and ref == "refs/heads/main"``. Values are JSON strings; a
claim is a name of letters, digits, ``_``, ``-``, ``:`` and ``.`` (a ``.`` reaches into an object:
``extra.team``). A claim that is missing or not a string never equals a value (and never satisfies
``!=`` either): a rule is met only by claims the token really carries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from errors import InvalidInput

_CLAUSE = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_:.\-]*)\s*(==|!=)\s*("(?:[^"\\]|\\.)*")\s*')
_AND = re.compile(r"\s+and\s+")
MAX_CLAUSES = 10


@dataclass(frozen=True)
class Clause:
    claim: str
    op: str
    value: str

    def __str__(self) -> str:
        return f"{self.claim} {self.op} {json.dumps(self.value)}"


def parse_rule(text: str) -> list[Clause]:
    """The clauses of ``text``; ValidationError naming what is wrong."""
    clauses = []
    for part in _AND.split(text.strip()):
        match = _CLAUSE.fullmatch(part)
        if match is None:
            raise InvalidInput(
                f'Cannot read {part.strip()!r}: write claim == "value" (or !=), joined by and.', code="rule"
            )
        clauses.append(Clause(match[1], match[2], json.loads(match[3])))
    if not clauses or len(clauses) > MAX_CLAUSES:
        raise InvalidInput(f"A rule has between 1 and {MAX_CLAUSES} clauses.", code="rule")
    return clauses


def _claim(claims: dict[str, Any], path: str) -> Any:
    value: Any = claims
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def unmet(clauses: list[Clause], claims: dict[str, Any]) -> Clause | None:
    """The first clause ``claims`` do not satisfy, or None when the rule is met."""
    for clause in clauses:
        value = _claim(claims, clause.claim)
        if not isinstance(value, str) or (value == clause.value) != (clause.op == "=="):
            return clause
    return None
