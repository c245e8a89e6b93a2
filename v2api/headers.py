"""Parsing and building the registry's HTTP headers: Range, Content-Range, Link, Accept."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from packages_app.exceptions import RangeNotSatisfiable, UploadRangeInvalid

_BYTES_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_CONTENT_RANGE = re.compile(r"([0-9]+)-([0-9]+)")


def upload_range(offset: int) -> str:
    """``Range: 0-<last byte>`` for an upload holding ``offset`` bytes ("0-0" when empty, as Docker's registry)."""
    return f"0-{max(offset - 1, 0)}"


def blob_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a GET asks for (RFC 9110 §14), or None for the whole blob.

    One range only; a header we cannot parse is ignored, as RFC 9110 allows.
    """
    if not header:
        return None
    match = _BYTES_RANGE.fullmatch(header.strip())
    if not match or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":  # suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(size=size)
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise RangeNotSatisfiable(size=size)
    return start, end


def content_range(header: str | None, offset: Callable[[], int]) -> tuple[int | None, int | None]:
    """Start and end of a PATCH/PUT chunk's ``Content-Range`` (inclusive), if it has one. ``offset``
    tells where the upload stands, for the 416 of a malformed header (asked only then).

    distribution-spec "Pushing a blob in chunks" has one form only, ``<start>-<end>`` in ASCII digits:
    RFC 9110's ``bytes 0-9/10`` and ``0-9/*`` are refused (416), as a client that sends them expects
    semantics the registry does not have."""
    if not header:
        return None, None
    match = _CONTENT_RANGE.fullmatch(header.strip())
    if not match:
        raise UploadRangeInvalid("Content-Range must look like <start>-<end>", offset=offset())
    start, end = int(match.group(1)), int(match.group(2))
    if end < start:
        raise UploadRangeInvalid("Content-Range ends before it starts", offset=offset())
    return start, end


def next_link(path: str, n: int, last: str) -> str:
    """RFC 8288 ``Link`` to the next page of a list."""
    return f'<{path}?n={n}&last={quote(last)}>; rel="next"'


def accepts(accept_header: str | None, media_type: str) -> bool:
    """Whether an ``Accept`` header admits ``media_type``; no header (or */*) admits everything."""
    if not accept_header:
        return True
    offered = {part.split(";", 1)[0].strip().lower() for part in accept_header.split(",")}
    offered.discard("")
    return not offered or "*/*" in offered or media_type in offered or "application/*" in offered
