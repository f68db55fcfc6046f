"""URL sources: only public addresses, checked on every hop, pinned against DNS rebinding."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from activities.safe_fetch import FetchedPage, fetch_public_page
from devtools.serving import serve
from domain.public_addresses import FetchFailed, FetchRefused, Resolver, is_public_address

PUBLIC_IP = "93.184.216.34"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.1.2.3",
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "100.64.0.1",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::7f00:1",
        "2002:7f00:1::1",
        "2001:0::1",
        "fd00:ec2::254",
        "fec0::1",  # deprecated site-local: Python counts it as global
        "feff:ffff::1",
    ],
)
def test_private_loopback_link_local_and_metadata_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", [PUBLIC_IP, "1.1.1.1", "2606:4700:4700::1111"])
def test_public_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


def resolver(table: dict[str, list[str]]) -> Resolver:
    async def resolve(host: str, _port: int) -> list[str]:
        answers = table[host]
        # A rebinding DNS server answers differently on the next lookup.
        return [answers.pop(0)] if len(answers) > 1 else list(answers)

    return resolve


async def fetch(
    handler: Callable[[httpx.Request], httpx.Response],
    url: str,
    table: dict[str, list[str]],
    max_bytes: int = 100_000,
) -> tuple[FetchedPage, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(record)) as client:
        page = await fetch_public_page(
            client,
            url,
            max_bytes=max_bytes,
            timeout=5,
            allow_private=False,
            resolver=resolver(table),
        )
    return page, seen


def html(body: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda _r: httpx.Response(200, html=body)


async def test_the_connection_goes_to_the_checked_address_with_the_original_host() -> None:
    page, seen = await fetch(
        html("<p>hello</p>"), "https://news.example/a?b=1", {"news.example": [PUBLIC_IP]}
    )
    [request] = seen
    assert request.url.host == PUBLIC_IP and request.url.path == "/a"
    assert request.url.query == b"b=1"
    assert request.headers["host"] == "news.example"
    assert request.extensions["sni_hostname"] == "news.example"


async def test_dns_rebinding_cannot_redirect_the_connection() -> None:
    # First answer public (checked), later answers private: we never look again.
    _, seen = await fetch(
        html("<p>ok</p>"),
        "https://rebind.example/",
        {"rebind.example": [PUBLIC_IP, "127.0.0.1", "127.0.0.1"]},
    )
    assert [r.url.host for r in seen] == [PUBLIC_IP]


@pytest.mark.parametrize(
    "url",
    [
        "http://news.example/",
        "ftp://news.example/",
        "https://user:pw@news.example/",
        "https://127.0.0.1/",
        "https://[::1]/",
        "https://2130706433/",
        "https://0x7f000001/",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.1.2.3/",
    ],
)
async def test_refused_urls(url: str) -> None:
    table = {
        "news.example": [PUBLIC_IP],
        "127.0.0.1": ["127.0.0.1"],
        "::1": ["::1"],
        "2130706433": ["127.0.0.1"],
        "0x7f000001": ["127.0.0.1"],
        "169.254.169.254": ["169.254.169.254"],
        "10.1.2.3": ["10.1.2.3"],
    }
    with pytest.raises(FetchRefused):
        await fetch(html("<p>never</p>"), url, table)


async def test_a_host_with_any_private_address_is_refused() -> None:
    with pytest.raises(FetchRefused):
        async with httpx.AsyncClient(transport=httpx.MockTransport(html("x"))) as client:

            async def both(_host: str, _port: int) -> list[str]:
                return [PUBLIC_IP, "10.0.0.7"]

            await fetch_public_page(
                client,
                "https://mixed.example/",
                max_bytes=100,
                timeout=5,
                allow_private=False,
                resolver=both,
            )


@pytest.mark.parametrize(
    "target", ["https://127.0.0.1/admin", "https://internal.example/", "http://news.example/x"]
)
async def test_redirects_are_checked_like_the_first_url(target: str) -> None:
    def redirect(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": target})

    table = {
        "news.example": [PUBLIC_IP],
        "127.0.0.1": ["127.0.0.1"],
        "internal.example": ["192.168.0.5"],
    }
    with pytest.raises(FetchRefused):
        await fetch(redirect, "https://news.example/start", table)


async def test_redirects_to_public_pages_are_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["host"] == "short.example":
            return httpx.Response(301, headers={"location": "https://news.example/story"})
        return httpx.Response(200, html="<p>the story</p>")

    page, seen = await fetch(
        handler,
        "https://short.example/x",
        {"short.example": [PUBLIC_IP], "news.example": ["1.1.1.1"]},
    )
    assert [r.url.host for r in seen] == [PUBLIC_IP, "1.1.1.1"]
    assert page.url == "https://news.example/story"


async def test_redirect_loops_stop() -> None:
    def loop(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "https://news.example/again"})

    with pytest.raises(FetchFailed) as raised:
        await fetch(loop, "https://news.example/", {"news.example": [PUBLIC_IP]})
    assert not raised.value.retryable


@pytest.mark.parametrize(
    ("status", "retryable"), [(404, False), (410, False), (429, True), (500, True), (503, True)]
)
async def test_http_errors_say_whether_retrying_helps(status: int, retryable: bool) -> None:
    with pytest.raises(FetchFailed) as raised:
        await fetch(
            lambda _r: httpx.Response(status),
            "https://news.example/",
            {"news.example": [PUBLIC_IP]},
        )
    assert raised.value.retryable is retryable


async def test_non_text_content_is_refused() -> None:
    def image(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"\x89PNG", headers={"content-type": "image/png"})

    with pytest.raises(FetchFailed):
        await fetch(image, "https://news.example/", {"news.example": [PUBLIC_IP]})


async def test_large_pages_are_cut_at_the_size_limit() -> None:
    def big(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="a" * 50_000, headers={"content-type": "text/plain"})

    page, _ = await fetch(
        big, "https://news.example/", {"news.example": [PUBLIC_IP]}, max_bytes=1000
    )
    assert len(page.body) == 1000


async def test_a_real_local_page_is_fetched_when_private_addresses_are_allowed() -> None:
    async def article(_request: Request) -> Response:
        return HTMLResponse(
            "<html><head><title>T</title></head><body><p>Body text.</p></body></html>"
        )

    async def moved(_request: Request) -> Response:
        return RedirectResponse("/article")

    async def slow(_request: Request) -> Response:
        import asyncio

        await asyncio.sleep(1)
        return PlainTextResponse("late")

    app = Starlette(
        routes=[Route("/article", article), Route("/moved", moved), Route("/slow", slow)]
    )
    async with serve(app, lifespan="off") as base, httpx.AsyncClient() as client:
        page = await fetch_public_page(
            client, f"{base}/moved", max_bytes=10_000, timeout=5, allow_private=True
        )
        assert page.url.endswith("/article") and "Body text." in page.body
        with pytest.raises(FetchFailed) as raised:
            await fetch_public_page(
                client, f"{base}/slow", max_bytes=10_000, timeout=0.3, allow_private=True
            )
        assert raised.value.retryable
        with pytest.raises(FetchRefused):
            await fetch_public_page(
                client, f"{base}/article", max_bytes=10_000, timeout=5, allow_private=False
            )
