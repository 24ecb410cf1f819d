"""The client's address, for limits counted per address (API.md "Safety").

The peer of the TCP connection is the client, unless that peer is one of the operator's
reverse proxies (`RAPPORT_TRUSTED_PROXIES`, addresses or networks). Only then is
`X-Forwarded-For` read, from the right: each trusted proxy appended the address it got the
request from, so the first hop that is not a trusted proxy is the client. Anything further
left was written by the client itself and is never believed.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

UNKNOWN = "unknown"


@lru_cache(maxsize=8)
def trusted_networks(proxies: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    """Parsed once per setting; a value that is no address or network fails at start-up."""
    return tuple(ip_network(p, strict=False) for p in proxies)


def _is_trusted(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(peer: str | None, forwarded_for: str | None, proxies: tuple[str, ...]) -> str:
    """The address limits count against (see the module's docstring)."""
    if not peer:
        return UNKNOWN
    networks = trusted_networks(proxies)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in (forwarded_for or "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            try:
                return str(ip_address(hop))
            except ValueError:
                return peer  # not an address: a proxy would not have written it
    return hops[0] if hops else peer
