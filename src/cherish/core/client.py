"""Where a request comes from: the client's address, read correctly behind trusted proxies.

Behind a reverse proxy every request's REMOTE_ADDR is the proxy, so throttling or auditing by
REMOTE_ADDR would treat a whole office (or the whole internet) as one client. The proxy adds
the address it saw to ``X-Forwarded-For``; but anyone can send that header, so it is read only
when the request came through a proxy we were told to trust (``CHERISH_TRUSTED_PROXIES``:
addresses or networks), and only from the right: the last address added by an untrusted hop
is the client. With no trusted proxies configured the header is ignored entirely.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry)


def _parse(value: str) -> Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def _trusted(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address, nets: Iterable[Network]
) -> bool:
    return any(address in net for net in nets)


def client_address(request: HttpRequest) -> str:
    """The client's IP address as text ("unknown" when even REMOTE_ADDR is unusable)."""
    remote = _parse(str(request.META.get("REMOTE_ADDR", "")))
    if remote is None:
        return "unknown"
    nets = _networks(tuple(getattr(settings, "CHERISH_TRUSTED_PROXIES", ()) or ()))
    if not nets or not _trusted(remote, nets):
        return str(remote)
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop for hop in (part.strip() for part in forwarded.split(",")) if hop]
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            # A hop we cannot read: stop at the last address we could trust, not past it.
            return str(remote)
        if not _trusted(address, nets):
            return str(address)
        remote = address
    return str(remote)
