"""Who the client is, for rate limits: the peer, or what a trusted proxy says it saw.

X-Forwarded-For is a list each proxy appends its peer to, so only its right end can be
believed, and only as far as the proxies in it are ours: walking from the right, the
first address that is not a trusted proxy is the client. Anything further left was
written by the client and could be anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

Network = IPv4Network | IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(
    peer: str | None, forwarded_for: Iterable[str], proxies: Sequence[Network]
) -> str:
    """The address to account a request to.

    `forwarded_for` is every X-Forwarded-For header of the request, in order; it counts only
    when `peer` is a trusted proxy.
    """
    if peer is None:
        return "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for header in forwarded_for for hop in header.split(",")]
    hops = [hop for hop in hops if hop]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    # Every hop is a proxy of ours (or there is no header): the left-most is the client.
    return hops[0] if hops else peer
