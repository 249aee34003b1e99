"""The admin network guard: an optional allow-list of client address ranges for the admin API.

WXLESS_ADMIN_ALLOWED_CIDRS (the stack parameter AdminAllowedCidrs) is a comma-separated list of
IPv4/IPv6 ranges, e.g. `203.0.113.0/24, 2001:db8::/32`; empty lets any address through (the
credentials still decide). The address is the one API Gateway saw (`sourceIp`), which a client
cannot forge with a header.
"""

from __future__ import annotations

import functools
import ipaddress

from chalicelib.errors import InvalidInput

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def parse(text: str) -> tuple[Network, ...]:
    """The ranges of a setting; InvalidInput names a bad one."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise InvalidInput(f"not an address range: {part!r}") from None
    return tuple(out)


def allowed(ip: str, ranges: tuple[Network, ...]) -> bool:
    if not ranges:
        return True
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False  # unknown: refused when a list is set
    return any(address in network for network in ranges)
