"""Clients to the outside world, built from settings at process start."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from config import Settings
from domain.public_addresses import FetchFailed

if TYPE_CHECKING:
    import openai


async def connect_temporal(
    settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None
) -> Client:
    """Connect to the dev server, a self-hosted cluster or Temporal Cloud (by settings only).

    ``lazy`` lets the API start while Temporal is still down: calls fail (and the API answers
    503) until it is reachable.
    """
    tls: TLSConfig | bool = settings.temporal_tls or settings.temporal_api_key is not None
    if settings.temporal_tls_cert is not None and settings.temporal_tls_key is not None:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        api_key=(
            settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
        ),
        tls=tls,
        data_converter=pydantic_data_converter,
        lazy=lazy,
        runtime=runtime,
    )


def make_openai_client(settings: Settings) -> openai.AsyncOpenAI | None:
    """The provider client, or None when no API key is configured (offline writer).

    ``max_retries=0``: Temporal retries, with backoff and a visible attempt count.
    """
    if settings.openai_api_key is None:
        return None
    import openai  # here, not at the top: the API process never needs the SDK

    return openai.AsyncOpenAI(
        api_key=settings.openai_api_key.get_secret_value(),
        base_url=settings.openai_base_url,
        max_retries=0,
        timeout=settings.llm_timeout_seconds,
    )


async def system_resolver(host: str, port: int) -> list[str]:
    """The system's name lookup (a ``domain.public_addresses.Resolver``): every distinct
    address of ``host``; a name that does not resolve is a retryable ``FetchFailed``."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise FetchFailed(f"cannot resolve {host}", retryable=True) from err
    return list(dict.fromkeys(str(info[4][0]) for info in infos))
