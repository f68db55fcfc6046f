"""Where a customer-supplied URL may take us: public addresses only (SSRF).

The rules shared by the API (a webhook endpoint is checked when it is registered) and the
activities (a source page and a webhook delivery are checked at every hop, see
``activities/safe_fetch.py``). No network client here: the API imports this module without
importing an HTTP client, and the name lookup comes in as a ``Resolver``
(``connections.system_resolver`` in production, a table in tests).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from domain.errors import DependencyFailure, PolicyRefusal
from domain.text_rules import check_source_url


class FetchRefused(PolicyRefusal):
    """The URL or one of its redirects points somewhere we do not go."""


class FetchFailed(DependencyFailure):
    """The page could not be fetched; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or (ip.sixtofour if ip.sixtofour else None)
        if embedded is not None:
            return is_public_address(str(embedded))
        if ip.teredo is not None or ip in ipaddress.ip_network("64:ff9b::/96"):
            return False
        # Deprecated site-local (RFC 3879): still routed inside some networks, yet Python
        # counts it as global.
        if ip.is_site_local:
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def resolve_checked(host: str, port: int, *, allow_private: bool, resolver: Resolver) -> str:
    """The first address of ``host``, refusing the host if any address is not public.

    The caller connects to exactly this address, so the answer cannot change in between.
    """
    addresses = await resolver(host, port)
    if not addresses:
        raise FetchFailed(f"cannot resolve {host}", retryable=True)
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise FetchRefused(f"{host} resolves to a non-public address")
    return addresses[0]


def check_url_shape(url: str, *, allow_private: bool) -> None:
    try:
        check_source_url(url, allow_http=allow_private)
    except ValueError as err:
        raise FetchRefused(f"URL {err}") from err
