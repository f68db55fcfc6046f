"""Fetching a customer-supplied URL without letting it reach private networks (SSRF).

Every hop is resolved once, every resolved address must be public, and the connection goes
to the address that was checked (the Host header and TLS name keep the original name), so a
DNS answer that changes between check and connect (rebinding) cannot redirect us inside.
Redirects are followed by hand and each target is checked again.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from domain.errors import DependencyFailure, PolicyRefusal
from domain.text_rules import check_source_url

MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


class FetchRefused(PolicyRefusal):
    """The URL or one of its redirects points somewhere we do not go."""


class FetchFailed(DependencyFailure):
    """The page could not be fetched; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class FetchedPage:
    url: str
    content_type: str
    body: str


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


async def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchFailed(f"cannot resolve {host}", retryable=True) from err
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def resolve_checked(
    host: str, port: int, *, allow_private: bool, resolver: Resolver = system_resolver
) -> str:
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


async def fetch_public_page(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool,
    resolver: Resolver = system_resolver,
) -> FetchedPage:
    try:
        async with asyncio.timeout(timeout):
            return await _follow(
                client, url, max_bytes=max_bytes, allow_private=allow_private, resolver=resolver
            )
    except TimeoutError as err:
        raise FetchFailed("the page took too long to load", retryable=True) from err


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    *,
    max_bytes: int,
    allow_private: bool,
    resolver: Resolver,
) -> FetchedPage:
    for _ in range(MAX_REDIRECTS + 1):
        check_url_shape(url, allow_private=allow_private)
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        address = await resolve_checked(host, port, allow_private=allow_private, resolver=resolver)
        pinned_host = f"[{address}]" if ":" in address else address
        pinned = urlunsplit(
            (parts.scheme, f"{pinned_host}:{port}", parts.path or "/", parts.query, "")
        )
        request = client.build_request(
            "GET",
            pinned,
            headers={"Host": parts.netloc.rsplit("@", 1)[-1]},
            extensions={"sni_hostname": host},
        )
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as err:
            raise FetchFailed(f"connection to {host} failed", retryable=True) from err
        try:
            if response.is_redirect:
                location = response.headers.get("location")
                if not location:
                    raise FetchFailed("redirect without a target", retryable=False)
                url = urljoin(url, location)
                continue
            if response.status_code >= 500 or response.status_code == 429:
                raise FetchFailed(f"the site answered {response.status_code}", retryable=True)
            if response.status_code >= 400:
                raise FetchFailed(f"the site answered {response.status_code}", retryable=False)
            content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type and content_type not in _TEXT_TYPES:
                raise FetchFailed(f"not a web page ({content_type})", retryable=False)
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) >= max_bytes:  # long pages are cut, not refused
                    del body[max_bytes:]
                    break
            encoding = response.encoding or "utf-8"
            return FetchedPage(
                url=url,
                content_type=content_type or "text/html",
                body=body.decode(encoding, errors="replace"),
            )
        finally:
            await response.aclose()
    raise FetchFailed("too many redirects", retryable=False)
