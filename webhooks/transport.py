"""Sending one webhook request without becoming a way into the private network (SSRF).

A target is refused before any connection is made when its host resolves to an address that is not
globally routable (loopback, link-local — the cloud metadata service at 169.254.169.254 —, private,
shared, reserved, multicast, unspecified), unless the host is on the admin's allow-list
``WHARF_WEBHOOK_ALLOWED_HOSTS`` (``host`` or ``host:port``). The connection then goes to the very
address that was checked (no second lookup a rebinding DNS could answer differently), redirects are
never followed (a 3xx is a failed delivery), timeouts are short and at most
``WHARF_WEBHOOK_MAX_RESPONSE_BYTES`` of the response are read.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

EXCERPT_CHARS = 1024


class TargetRefused(Exception):
    """The URL may not be called: its message says why (shown in the delivery log and on forms)."""


@dataclass(frozen=True)
class Target:
    url: SplitResult
    host: str
    port: int
    address: str  # the checked IP address the connection goes to


@dataclass(frozen=True)
class Outcome:
    status: int | None
    ms: int
    excerpt: str
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _allow_listed(host: str, port: int) -> bool:
    allowed = {h.lower() for h in settings.WHARF_WEBHOOK_ALLOWED_HOSTS}
    return host in allowed or f"{host}:{port}" in allowed


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _split(url: str) -> tuple[SplitResult, str, int]:
    try:
        parts = urlsplit(url.strip())
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("The URL is not valid.") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise TargetRefused("Use an http:// or https:// URL with a host name.")
    if parts.username or parts.password:
        raise TargetRefused("Put credentials in the secret, not in the URL.")
    return parts, parts.hostname.lower(), port


def resolve(url: str) -> Target:
    """The address ``url`` may be called at, or TargetRefused. Only DNS is asked; nothing is connected."""
    parts, host, port = _split(url)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise TargetRefused(f"{host} does not resolve.") from None
    addresses = [str(info[4][0]) for info in found]
    if not _allow_listed(host, port):
        refused = [a for a in addresses if not _public(a)]
        if refused:
            raise TargetRefused(
                f"{host} resolves to {refused[0]}, a loopback, link-local, private or reserved address; "
                "an administrator can allow named hosts with WHARF_WEBHOOK_ALLOWED_HOSTS."
            )
    return Target(url=parts, host=host, port=port, address=addresses[0])


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to a checked address, verifying the certificate for the host name (SNI)."""

    def __init__(self, address: str, port: int, hostname: str, timeout: float) -> None:
        super().__init__(address, port, timeout=timeout, context=ssl.create_default_context())
        self._hostname = hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._hostname)  # type: ignore[attr-defined]


def _connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    if target.url.scheme == "https":
        return _PinnedHTTPS(target.address, target.port, target.host, timeout)
    return http.client.HTTPConnection(target.address, target.port, timeout=timeout)


def _read_capped(response: http.client.HTTPResponse, deadline: float) -> bytes:
    cap, data = int(settings.WHARF_WEBHOOK_MAX_RESPONSE_BYTES), b""
    while len(data) < cap and time.monotonic() < deadline:
        chunk = response.read(min(4096, cap - len(data)))
        if not chunk:
            break
        data += chunk
    return data


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url`` once: refused targets and network errors become an Outcome's error."""
    started = time.monotonic()
    timeout = float(settings.WHARF_WEBHOOK_TIMEOUT_SECONDS)
    try:
        target = resolve(url)
    except TargetRefused as exc:
        return Outcome(status=None, ms=0, excerpt="", error=str(exc))
    host_header = target.host if target.url.port is None else f"{target.host}:{target.port}"
    path = (target.url.path or "/") + (f"?{target.url.query}" if target.url.query else "")
    connection = _connection(target, timeout)
    try:
        connection.request("POST", path, body=body, headers={"Host": host_header, **headers})
        response = connection.getresponse()
        data = _read_capped(response, started + 2 * timeout)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        return Outcome(status=None, ms=_ms(started), excerpt="", error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
    return Outcome(status=status, ms=_ms(started), excerpt=data.decode("utf-8", "replace")[:EXCERPT_CHARS])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
