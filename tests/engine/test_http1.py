"""The plain-http keep-alive client against real loopback servers: aiohttp for ordinary
behaviour, raw asyncio servers for the edges (framing, interim replies, dropped sockets)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from evalr.backends.http1 import Http1Error, Http1Pool, Response

HOST = "127.0.0.1"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Stats"], Awaitable[None]]
# Raw replies: given (request head, body, request number on this connection) -> bytes to send,
# or None to close the connection without answering.
Reply = Callable[[bytes, bytes, int], bytes | None]


def arun(coro: Coroutine[Any, Any, None]) -> None:
    asyncio.run(coro)


@dataclass
class Stats:
    url: str = ""
    connections: int = 0  # accepted so far
    live: int = 0
    peak: int = 0  # most connections open at once
    requests: list[bytes] = field(default_factory=list)  # raw request heads, in arrival order


@contextlib.asynccontextmanager
async def raw_server(handler: Handler) -> AsyncIterator[Stats]:
    stats = Stats()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats.connections += 1
        stats.live += 1
        stats.peak = max(stats.peak, stats.live)
        try:
            await handler(reader, writer, stats)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            stats.live -= 1
            writer.close()

    server = await asyncio.start_server(accept, HOST, 0)
    stats.url = f"http://{HOST}:{server.sockets[0].getsockname()[1]}"
    try:
        yield stats
    finally:
        server.close()


async def read_request(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None  # the client closed its keep-alive connection
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return head, await reader.readexactly(length)


def replying(reply: Reply) -> Handler:
    """A keep-alive handler that answers each request on a connection with `reply`."""

    async def handle(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: Stats
    ) -> None:
        for number in range(1_000_000):
            got = await read_request(reader)
            if got is None:
                return
            stats.requests.append(got[0])
            data = reply(got[0], got[1], number)
            if data is None:
                return
            writer.write(data)
            await writer.drain()

    return handle


def ok(body: bytes = b"hello", extra: str = "") -> bytes:
    return f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


@contextlib.asynccontextmanager
async def app_server(
    **routes: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[Stats]:
    """An aiohttp server; routes are POST /<name> (and GET for `get_<name>`)."""
    stats = Stats()
    seen: set[object] = set()

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        if peer not in seen:
            seen.add(peer)
            stats.connections += 1
        stats.live += 1
        stats.peak = max(stats.peak, stats.live)
        try:
            response: web.StreamResponse = await handler(request)
            return response
        finally:
            stats.live -= 1  # here: requests in flight, not connections

    app = web.Application(middlewares=[count], client_max_size=16 * 2**20)
    for name, route in routes.items():
        if name.startswith("get_"):
            app.router.add_get(f"/{name[4:]}", route)
        else:
            app.router.add_post(f"/{name}", route)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    stats.url = f"http://{HOST}:{runner.addresses[0][1]}"
    try:
        yield stats
    finally:
        await runner.cleanup()


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read(), headers={"X-Path": request.path})


def pool(url: str, **options: Any) -> Http1Pool:
    return Http1Pool(
        url, {"Authorization": "Bearer k", "Content-Type": "application/json"}, **options
    )


def test_request_format_and_content_length_body() -> None:
    async def main() -> None:
        reply = ok(
            b'{"ok": true}', "X-Multi: a\r\nx-MULTI: b\r\nContent-TYPE: application/json\r\n"
        )
        async with raw_server(replying(lambda head, body, n: reply)) as stats:
            seen: list[bytes] = []

            async def first_read(
                r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Stats
            ) -> None:
                seen.append(await r.read(65536))  # head and body arrive in one segment
                w.write(reply)
                await w.drain()

            async with raw_server(first_read) as single:
                client = pool(single.url + "/v1/")
                got = await client.request("POST", "/chat/completions", b'{"a": 1}')
                await client.aclose()
            head, _, body = seen[0].partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            assert lines[0] == "POST /v1/chat/completions HTTP/1.1"
            assert lines[1] == f"Host: {single.url.removeprefix('http://')}"
            assert lines[2:] == [
                "Content-Length: 8",
                "Authorization: Bearer k",
                "Content-Type: application/json",
                "Connection: keep-alive",
            ]
            assert body == b'{"a": 1}'
            assert got == Response(200, got.headers, b'{"ok": true}')
            assert got.headers["x-multi"] == "a, b"
            assert got.headers["content-type"] == "application/json"
            assert all(name == name.lower() for name in got.headers)

            client = pool(stats.url)
            empty = await client.request("GET", "/models")
            await client.aclose()
            assert stats.requests[0].startswith(b"GET /models HTTP/1.1\r\n")
            assert b"Content-Length: 0\r\n" in stats.requests[0]
            assert empty.body == b'{"ok": true}'

    arun(main())


def test_chunked_body_with_extensions_and_trailers_then_reuse() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n"
    )
    plain = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"

    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: chunked if n == 0 else plain)) as stats:
            client = pool(stats.url)
            first = await client.request("POST", "/x", b"{}")
            second = await client.request("POST", "/x", b"{}")
            await client.aclose()
        assert first.body == b"hello world"
        assert second.body == b"abc"  # trailers were consumed, so the next reply parses
        assert stats.connections == 1

    arun(main())


def test_body_read_to_eof_closes_the_connection() -> None:
    async def until_eof(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Stats) -> None:
        await read_request(r)
        w.write(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n" + b"z" * 300_000)
        await w.drain()  # then the handler returns and the server closes: that ends the body

    async def main() -> None:
        async with raw_server(until_eof) as stats:
            client = pool(stats.url)
            got = [await client.request("POST", "/x", b"{}") for _ in range(2)]
            await client.aclose()
        assert [r.body for r in got] == [b"z" * 300_000] * 2
        assert stats.connections == 2  # an EOF-delimited body is never reused


def test_interim_100_continue_is_skipped() -> None:
    reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n" + ok(
        b"final", "X-Final: yes\r\n"
    )

    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: reply)) as stats:
            client = pool(stats.url)
            got = [await client.request("POST", "/x", b"{}") for _ in range(2)]
            await client.aclose()
        assert [(r.status, r.body) for r in got] == [(200, b"final")] * 2
        assert got[0].headers.get("x-final") == "yes" and "link" not in got[0].headers
        assert stats.connections == 1

    arun(main())


@pytest.mark.parametrize(
    ("reply", "reused"),
    [
        (ok(extra="Connection: close\r\n"), False),
        (ok(extra="connection: Close\r\n"), False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi", True),
        (ok(), True),
    ],
)
def test_connection_reuse_follows_the_server(reply: bytes, reused: bool) -> None:
    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: reply)) as stats:
            client = pool(stats.url)
            bodies = [(await client.request("POST", "/x", b"{}")).body for _ in range(3)]
            await client.aclose()
        assert len(set(bodies)) == 1 and bodies[0] in (b"hi", b"hello")
        assert stats.connections == (1 if reused else 3)

    arun(main())


def test_keep_alive_reuses_one_connection_for_sequential_requests() -> None:
    async def main() -> None:
        async with app_server(echo=echo) as stats:
            client = pool(stats.url)
            for i in range(50):
                got = await client.request("POST", "/echo", b"%d" % i)
                assert (got.status, got.body, got.headers["x-path"]) == (200, b"%d" % i, "/echo")
            await client.aclose()
        assert stats.connections == 1

    arun(main())


def test_concurrency_limit_bounds_open_connections() -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(body=await request.read())

    async def main() -> None:
        async with app_server(slow=slow) as stats:
            client = pool(stats.url, limit=4)
            got = await asyncio.gather(
                *(client.request("POST", "/slow", b"%d" % i) for i in range(20))
            )
            await client.aclose()
        assert [r.body for r in got] == [b"%d" % i for i in range(20)]
        assert stats.connections == 4  # never more, and the limit was actually reached
        assert stats.peak == 4

    arun(main())


def test_raw_limit_counts_open_sockets() -> None:
    async def main() -> None:
        async def slow(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Stats) -> None:
            while await read_request(r) is not None:
                await asyncio.sleep(0.02)
                w.write(ok())
                await w.drain()

        async with raw_server(slow) as stats:
            client = pool(stats.url, limit=3)
            await asyncio.gather(*(client.request("POST", "/x", b"{}") for _ in range(30)))
            await client.aclose()
        assert stats.peak == 3 and stats.connections == 3

    arun(main())


def test_server_dropping_a_reused_connection_is_retried_once_on_a_fresh_one() -> None:
    # The race where the server times out the idle socket just as a request is sent on it:
    # the second request on every connection is swallowed without a byte of reply.
    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: None if n else ok(b"%d" % n))) as stats:
            client = pool(stats.url)
            got = [await client.request("POST", "/x", b"{}") for _ in range(3)]
            await client.aclose()
        assert [r.body for r in got] == [b"0"] * 3
        assert stats.connections == 3  # 1 + one fresh connection per swallowed request
        assert len(stats.requests) == 5

    arun(main())


def test_idle_connection_closed_by_the_server_is_not_used() -> None:
    async def main() -> None:
        async def close_after_one(
            r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Stats
        ) -> None:
            await read_request(r)
            w.write(ok())
            await w.drain()

        async with raw_server(close_after_one) as stats:
            client = pool(stats.url)
            await client.request("POST", "/x", b"{}")
            await asyncio.sleep(0.05)  # the server's FIN reaches the idle socket
            got = await client.request("POST", "/x", b"{}")
            await client.aclose()
        assert got.body == b"hello" and stats.connections == 2

    arun(main())


def test_fresh_connection_closed_without_reply_is_not_retried() -> None:
    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: None)) as stats:
            client = pool(stats.url)
            with pytest.raises(Http1Error, match="before any reply"):
                await client.request("POST", "/x", b"{}")
            await client.aclose()
        assert stats.connections == 1

    arun(main())


def test_reset_or_eof_mid_body_raises_http1_error_and_pool_recovers() -> None:
    async def main() -> None:
        async def cut(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Stats) -> None:
            while (got := await read_request(r)) is not None:
                if got[1] == b"ok":
                    w.write(ok())
                    await w.drain()
                    continue
                w.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
                await w.drain()
                await asyncio.sleep(0.02)
                sock = w.get_extra_info("socket")
                if got[1] == b"reset":  # SO_LINGER 0: close sends RST, not FIN
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                w.transport.abort()
                return

        async with raw_server(cut) as stats:
            client = pool(stats.url)
            for how in (b"reset", b"eof"):
                await client.request("POST", "/x", b"ok")  # warm: the failure is on a reuse
                with pytest.raises(Http1Error) as caught:
                    await client.request("POST", "/x", how)
                assert type(caught.value) is Http1Error
                cause = (ConnectionResetError, asyncio.IncompleteReadError)
                assert isinstance(caught.value.__cause__, cause)
            assert (await client.request("POST", "/x", b"ok")).body == b"hello"
            await client.aclose()
        assert stats.connections == 3  # a reply that had begun was not replayed

    arun(main())


@pytest.mark.parametrize(
    "reply",
    [
        b"HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",
        b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
    ],
)
def test_malformed_replies_raise_http1_error(reply: bytes) -> None:
    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: reply)) as stats:
            client = pool(stats.url)
            with pytest.raises(Http1Error):
                await client.request("POST", "/x", b"{}")
            await client.aclose()

    arun(main())


def test_head_204_and_304_have_no_body_and_keep_the_connection() -> None:
    def reply(head: bytes, body: bytes, n: int) -> bytes:
        if head.startswith(b"HEAD"):
            return b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
        if n == 1:
            return b"HTTP/1.1 204 No Content\r\n\r\n"
        if n == 2:
            return b"HTTP/1.1 304 Not Modified\r\nContent-Length: 40\r\n\r\n"
        return ok(b"after")

    async def main() -> None:
        async with raw_server(replying(reply)) as stats:
            client = pool(stats.url)
            got = [await client.request(m, "/x") for m in ("HEAD", "GET", "GET", "GET")]
            await client.aclose()
        assert [(r.status, r.body) for r in got] == [
            (200, b""),
            (204, b""),
            (304, b""),
            (200, b"after"),
        ]
        assert got[0].headers["content-length"] == "99"
        assert stats.connections == 1

    arun(main())


async def sleepy(request: web.Request) -> web.Response:
    await asyncio.sleep(float(await request.read()))
    return web.Response(text=f"slept {request.query.get('tag', '')}")


def test_timeout_raises_timeout_error_and_pool_stays_usable() -> None:
    async def main() -> None:
        async with app_server(sleepy=sleepy) as stats:
            client = pool(stats.url, timeout_s=0.3)
            with pytest.raises(TimeoutError):
                await client.request("POST", "/sleepy", b"0.6", timeout_s=0.1)
            with pytest.raises(TimeoutError):
                await client.request("POST", "/sleepy", b"0.6")  # the pool's own timeout
            got = await client.request("POST", "/sleepy?tag=quick", b"0")
            await asyncio.sleep(0.1)
            again = await client.request("POST", "/sleepy?tag=again", b"0")
            await client.aclose()
        assert (got.body, again.body) == (b"slept quick", b"slept again")
        assert stats.connections == 3  # both timed-out connections were thrown away

    arun(main())


def test_cancelled_request_does_not_poison_the_pool() -> None:
    async def main() -> None:
        async with app_server(sleepy=sleepy) as stats:
            client = pool(stats.url)
            await client.request("POST", "/sleepy?tag=warm", b"0")
            task = asyncio.create_task(client.request("POST", "/sleepy?tag=late", b"0.2"))
            await asyncio.sleep(0.05)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await asyncio.sleep(0.3)  # the late reply would now be waiting on a reused socket
            got = await client.request("POST", "/sleepy?tag=next", b"0")
            await client.aclose()
        assert got.body == b"slept next"
        assert stats.connections == 2

    arun(main())


def test_refused_port_raises_http1_error() -> None:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port = sock.getsockname()[1]  # bound but not listening: connecting is refused

        async def main() -> None:
            client = pool(f"http://{HOST}:{port}")
            with pytest.raises(Http1Error, match="cannot connect") as caught:
                await client.request("POST", "/x", b"{}")
            assert isinstance(caught.value.__cause__, ConnectionRefusedError)
            await client.aclose()

        arun(main())


def test_large_bodies_arrive_intact_both_ways() -> None:
    async def chunked(request: web.Request) -> web.StreamResponse:
        data = await request.read()
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(data), 300_001):
            await response.write(data[i : i + 300_001])
        await response.write_eof()
        return response

    async def main() -> None:
        payload = os.urandom(5 * 2**20)
        async with app_server(echo=echo, chunked=chunked) as stats:
            client = pool(stats.url)
            by_length = await client.request("POST", "/echo", payload)
            by_chunks = await client.request("POST", "/chunked", payload)
            await client.aclose()
        assert by_length.body == payload and by_chunks.body == payload
        assert by_chunks.headers["transfer-encoding"] == "chunked"

    arun(main())


def test_aclose_closes_connections_and_is_idempotent() -> None:
    async def main() -> None:
        async with raw_server(replying(lambda h, b, n: ok())) as stats:
            client = pool(stats.url)
            await asyncio.gather(*(client.request("POST", "/x", b"{}") for _ in range(3)))
            assert stats.live == 3
            await client.aclose()
            await client.aclose()
            await asyncio.sleep(0.05)
            assert stats.live == 0
            with pytest.raises(Http1Error, match="closed"):
                await client.request("POST", "/x", b"{}")

    arun(main())


@pytest.mark.parametrize("url", ["https://example.test/v1", "ftp://h/", "127.0.0.1:80", "http://"])
def test_non_http_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="plain http"):
        Http1Pool(url, {})


def test_header_values_with_line_breaks_are_rejected() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        Http1Pool("http://127.0.0.1:1", {"X-Evil": "a\r\nHost: other"})


def test_aclose_does_not_wait_for_a_peer_that_stopped_reading() -> None:
    async def deaf(r: asyncio.StreamReader, w: asyncio.StreamWriter, s: Stats) -> None:
        await asyncio.sleep(30)  # never reads: the request body backs up in the client

    async def main() -> None:
        async with raw_server(deaf) as stats:
            client = pool(stats.url)
            task = asyncio.create_task(client.request("POST", "/x", b"x" * 64 * 2**20))
            await asyncio.sleep(0.2)
            await asyncio.wait_for(client.aclose(), 2)
            with pytest.raises(Http1Error):
                await asyncio.wait_for(task, 2)

    arun(main())
