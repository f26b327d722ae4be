"""The client's address for sign-in throttling and security events. X-Forwarded-For is read only
when the direct peer is a proxy listed in GOVFLOW_TRUSTED_PROXIES (addresses or networks, comma
separated); anyone else could write any address into that header and so escape the throttle."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted(value: str | None) -> list[Network]:
    """"10.0.0.0/8, 127.0.0.1" → networks; an unreadable entry is an error at start-up, not a
    silently untrusted proxy."""
    out: list[Network] = []
    for part in (value or "").split(","):
        part = part.strip()
        if part:
            out.append(ipaddress.ip_network(part, strict=False))
    return out


def _trusted(address: str, trusted: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_address(remote_addr: str | None, forwarded_for: str | None, trusted: Sequence[Network]) -> str:
    """The peer, or — when the peer is a trusted proxy — the right-most X-Forwarded-For entry that
    is not itself a trusted proxy (entries left of it were written by the client and prove nothing)."""
    address = remote_addr or "unknown"
    if not trusted or not forwarded_for or not _trusted(address, trusted):
        return address
    for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
        if not _trusted(hop, trusted):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return address  # garbage from a proxy we trust: keep the proxy's own address
        address = hop
    return address
