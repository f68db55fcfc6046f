"""A minimal HTTP/1.1 keep-alive client for load generation.

The load generator shares two cores with the API it measures, so its own cost per request
shows up in every latency: this client does little more than write the request and read
``Content-Length`` bytes back (several times cheaper than httpx per request). It speaks
only to our API, which always answers with a Content-Length.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> tuple[Response, bool]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        keep_alive = True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                keep_alive = False
        body = await self.reader.readexactly(length) if length else b""
        return Response(status, body), keep_alive

    def close(self) -> None:
        self.writer.close()


class HttpClient:
    """Requests to one host with a pool of idle keep-alive connections (opened on demand)."""

    def __init__(self, host: str, port: int, *, headers: dict[str, str]) -> None:
        self._host = host
        self._port = port
        self._headers = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: list[_Connection] = []

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\n{self._headers}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        request = head.encode() + payload
        reused = bool(self._idle)
        connection = self._idle.pop() if reused else await self._connect()
        try:
            response, keep_alive = await connection.exchange(request)
        except (asyncio.IncompleteReadError, ConnectionError):
            connection.close()
            if not reused:
                raise
            # The server closed an idle connection (keep-alive timeout) before reading this
            # request: nothing was processed, so sending it again on a new one is safe.
            connection = await self._connect()
            response, keep_alive = await connection.exchange(request)
        except BaseException:
            connection.close()
            raise
        if keep_alive:
            self._idle.append(connection)
        else:
            connection.close()
        return response

    async def _connect(self) -> _Connection:
        reader, writer = await asyncio.open_connection(self._host, self._port)
        return _Connection(reader, writer)

    async def close(self) -> None:
        for connection in self._idle:
            connection.close()
        self._idle.clear()
