"""Fetching a customer-supplied URL without letting it reach private networks (SSRF).

Every hop is resolved once, every resolved address must be public, and the connection goes
to the address that was checked (the Host header and TLS name keep the original name), so a
DNS answer that changes between check and connect (rebinding) cannot redirect us inside.
Redirects are followed by hand and each target is checked again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from connections import system_resolver
from domain.public_addresses import (
    FetchFailed,
    Resolver,
    check_url_shape,
    resolve_checked,
)

MAX_REDIRECTS = 5
_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


@dataclass(frozen=True)
class FetchedPage:
    url: str
    content_type: str
    body: str


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
