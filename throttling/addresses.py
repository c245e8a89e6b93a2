"""The client's address, for the per-address limits (the registry's anonymous budget, the token-creation
page, allauth's login limits).

``REMOTE_ADDR`` is the client's address unless it is one of ``WHARF_TRUSTED_PROXIES`` (CIDRs: the
load balancers and proxies in front of Wharf). Only then is ``X-Forwarded-For`` read, from the right:
each hop a trusted proxy appended is skipped, and the first address no trusted proxy holds is the
client's (anything to its left the client wrote itself, so it is never believed). A hop that is not an
IP address ends the walk at the trusted proxy that passed it on. Without the setting the header is
ignored, so a client cannot choose its own budget by sending one.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(spec: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in spec)


def trusted_networks() -> tuple[Network, ...]:
    return _networks(tuple(settings.WHARF_TRUSTED_PROXIES))


def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: HttpRequest) -> str:
    """The address a per-address limit counts for ``request`` (a Django request)."""
    meta = request.META
    remote = str(meta.get("REMOTE_ADDR", ""))
    networks = trusted_networks()
    if not networks or not _trusted(remote, networks):
        return remote
    address = remote
    for hop in reversed(str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")):
        hop = hop.strip()
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:
            return address  # garbled or empty: the trusted proxy that passed it on
        if not _trusted(hop, networks):
            return hop
        address = hop
    return address
