"""Repository names, tags and digests: the grammar of distribution-spec "Pulling manifests" and
image-spec "Digests". Pure functions, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .exceptions import DigestInvalid, DigestUnsupported, NameInvalid, TagInvalid

# distribution-spec v1.1: each path component matches this; components are joined by "/".
_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)")
MAX_NAME_LENGTH = 255

# image-spec "Registered algorithms": the encoded part is lowercase hex of a fixed length.
ALGORITHMS = {"sha256": 64, "sha512": 128}


@dataclass(frozen=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


def parse_name(name: str) -> str:
    """A repository name is OWNER/NAME[/MORE]: lowercase only, refused (not folded) otherwise."""
    if len(name) > MAX_NAME_LENGTH or not NAME_RE.fullmatch(name):
        raise NameInvalid(f"invalid repository name {name[:300]!r}", detail={"name": name[:300]})
    if "/" not in name:
        raise NameInvalid("a repository name is OWNER/NAME", detail={"name": name})
    return name


def parse_digest(value: str) -> Digest:
    """Parse ``algorithm:hex``; only sha256 and sha512 are accepted."""
    match = DIGEST_RE.fullmatch(value or "")
    if not match:
        raise DigestInvalid(f"invalid digest {value[:200]!r}", detail={"digest": value[:200]})
    algorithm, encoded = match.groups()
    length = ALGORITHMS.get(algorithm)
    if length is None:
        raise DigestUnsupported(detail={"digest": value[:200]})
    if len(encoded) != length or not re.fullmatch(r"[a-f0-9]+", encoded):
        raise DigestInvalid(f"invalid {algorithm} digest {value[:200]!r}", detail={"digest": value[:200]})
    return Digest(algorithm, encoded)


def is_digest_reference(reference: str) -> bool:
    """A manifest reference is a digest when it has a colon (tags cannot)."""
    return ":" in reference


def parse_tag(tag: str) -> str:
    if not TAG_RE.fullmatch(tag or ""):
        raise TagInvalid(f"invalid tag {tag[:200]!r}", detail={"tag": tag[:200]})
    return tag


def parse_count(value: str, *, maximum: int) -> int | None:
    """A count from a query string (``n``, ``page``): ASCII digits only — ``str.isdigit`` and ``int``
    also take fullwidth or Arabic-Indic digits — and at most ``maximum``, so no number too large for the database ever
    reaches a query. None when ``value`` is not a number."""
    if not value.isascii() or not value.isdigit():
        return None
    significant = value.lstrip("0")
    return maximum if len(significant) > len(str(maximum)) else min(int(value), maximum)


def list_marker(last: str) -> str:
    """A list's ``last`` (tags/list, _catalog) as the string to compare names against. PostgreSQL text
    cannot hold NUL, and no name or tag does: every character of one sorts after NUL, so for each name
    t, t > "a\\0b" exactly when t > "a". Cutting at the first NUL keeps the order and the answer."""
    return last.split("\x00", 1)[0]
