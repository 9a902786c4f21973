"""A small HTTP/1.1 keep-alive client for plain-http endpoints (local vLLM, SGLang, llama.cpp).

aiohttp costs 0.2-0.3 s to import (it builds SSL contexts at import) and ~0.4 ms of CPU per
request; on a 64-wide round where every reply lands at once, that CPU is paid serially. This
client is asyncio streams plus just enough HTTP/1.1 for JSON APIs. HTTPS stays with aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_READ_ERRORS = (OSError, EOFError, asyncio.LimitOverrunError, ValueError)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names lower-cased; repeated headers joined with ", "
    body: bytes


class Http1Error(ConnectionError):
    """Transport failure: refused, reset, closed early, malformed reply."""


class _Stale(Http1Error):
    """The connection died before any byte of the reply: on a reused one, safe to replay."""


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        # An idle socket the server has closed shows EOF here without a syscall.
        return not (self.reader.at_eof() or self.writer.transport.is_closing())


class Http1Pool:
    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        limit: int = 256,
        timeout_s: float = 3600.0,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise ValueError(f"Http1Pool speaks plain http://host[:port] only, not {base_url!r}")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        self._host, self._port = url.hostname, url.port or 80
        self._where = f"http://{url.netloc}"
        self._prefix = url.path.rstrip("/")
        lines = [f"{k}: {v}\r\n" for k, v in headers.items()]
        if any("\r" in line[:-2] or "\n" in line[:-2] for line in lines):
            raise ValueError("header names and values must not contain line breaks")
        # Everything but the request line and Content-Length is fixed: encode it once.
        self._host_line = f"Host: {url.netloc.rpartition('@')[2]}\r\n".encode()
        self._fixed = "".join([*lines, "Connection: keep-alive\r\n\r\n"]).encode("latin-1")
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(limit)
        # Invariant: holders of a slot + idle connections <= limit, so open connections are too.
        self._idle: list[_Conn] = []
        self._open: set[_Conn] = set()
        self._closed = False

    async def request(
        self, method: str, path: str, body: bytes | None = None, timeout_s: float | None = None
    ) -> Response:
        payload = body or b""
        data = b"".join(
            (
                f"{method} {self._prefix}{path} HTTP/1.1\r\n".encode("ascii"),
                self._host_line,
                b"Content-Length: %d\r\n" % len(payload),
                self._fixed,
                payload,
            )
        )
        async with asyncio.timeout(self._timeout_s if timeout_s is None else timeout_s):
            async with self._slots:
                conn = self._checkout()
                if conn is not None:
                    try:
                        return await self._exchange(conn, method, data)
                    except _Stale:
                        pass  # the server dropped the idle keep-alive socket: replay once
                return await self._exchange(await self._connect(), method, data)

    async def aclose(self) -> None:
        self._closed = True
        conns, self._idle = list(self._open), []
        for conn in conns:
            self._drop(conn)
        for conn in conns:
            with contextlib.suppress(OSError):  # reset by the peer: closed all the same
                await conn.writer.wait_closed()

    def _checkout(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()  # LIFO: the warmest socket, least likely to be timed out
            if conn.usable():
                return conn
            self._drop(conn)
        return None

    async def _connect(self) -> _Conn:
        if self._closed:
            raise Http1Error(f"{self._where}: the connection pool is closed")
        try:
            conn = _Conn(*await asyncio.open_connection(self._host, self._port))
        except OSError as exc:
            raise Http1Error(f"{self._where}: cannot connect: {exc}") from exc
        self._open.add(conn)
        return conn

    def _drop(self, conn: _Conn) -> None:
        self._open.discard(conn)
        # abort, not close: close would wait to flush a body a stalled peer may never read, and
        # a request's bytes have no use once we have given up on its connection.
        conn.writer.transport.abort()

    async def _exchange(self, conn: _Conn, method: str, data: bytes) -> Response:
        reader, writer = conn.reader, conn.writer
        try:
            writer.write(data)  # head and body in one write: one syscall, one packet if small
            try:
                await writer.drain()
                head = await reader.readuntil(b"\r\n\r\n")
            except (OSError, asyncio.IncompleteReadError) as exc:
                if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                    raise Http1Error(f"{self._where}: reply cut short in its head") from exc
                raise _Stale(f"{self._where}: connection closed before any reply") from exc
            status, version, headers = _parse_head(head)
            while status < 200:  # 1xx interim replies (100 Continue, 103): the real one follows
                status, version, headers = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            tokens = headers.get("connection", "").lower()
            keep = "close" not in tokens and (version != "HTTP/1.0" or "keep-alive" in tokens)
            if method == "HEAD" or status in (204, 304):
                body = b""
            elif "chunked" in headers.get("transfer-encoding", "").lower():
                body = await _read_chunked(reader)
            elif (length := headers.get("content-length")) is not None:
                body = await reader.readexactly(int(length))
            else:
                body, keep = await reader.read(), False  # delimited by the server closing
        except Http1Error:
            self._drop(conn)
            raise
        except _READ_ERRORS as exc:
            self._drop(conn)
            raise Http1Error(f"{self._where}: bad or broken reply: {exc!r}") from exc
        except BaseException:
            self._drop(conn)  # cancelled or timed out mid-reply: never reuse it
            raise
        if keep and not self._closed:
            self._idle.append(conn)
        else:
            self._drop(conn)
        return Response(status, headers, body)


def _parse_head(head: bytes) -> tuple[int, str, dict[str, str]]:
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not _is_status(parts[1]):
        raise Http1Error(f"malformed status line {lines[0][:80]!r}")
    headers: dict[str, str] = {}
    name = ""
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and name:  # obsolete line folding continues the last value
            headers[name] += " " + line.strip()
            continue
        key, sep, value = line.partition(":")
        if not sep:
            raise Http1Error(f"malformed header line {line[:80]!r}")
        name, value = key.strip().lower(), value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return int(parts[1]), parts[0], headers


def _is_status(code: str) -> bool:
    return len(code) == 3 and code.isdigit() and code.isascii()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16):
        chunk = await reader.readexactly(size + 2)
        if chunk[-2:] != b"\r\n":
            raise Http1Error("chunk not terminated by CRLF")
        chunks.append(chunk[:-2])
    while await reader.readuntil(b"\r\n") != b"\r\n":
        pass  # trailer fields: JSON APIs never need them, but they must be consumed
    return b"".join(chunks)
