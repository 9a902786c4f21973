"""How the OpenAI backend reaches a server: evalr's own HTTP/1.1 pool for plain http (local
engines; fast to import, little CPU per request), aiohttp for https (TLS, proxies)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from evalr.backends.http1 import Http1Error, Http1Pool, Response


class Transport(Protocol):
    async def request(
        self, method: str, path: str, body: bytes | None = None, timeout_s: float | None = None
    ) -> Response:
        """One request; transport failures raise Http1Error or TimeoutError."""
        ...

    async def aclose(self) -> None: ...


class AiohttpTransport:
    """aiohttp behind the same interface, with its errors mapped to Http1Error."""

    def __init__(
        self, base_url: str, headers: Mapping[str, str], limit: int, timeout_s: float
    ) -> None:
        import aiohttp  # only https endpoints pay for it

        self._aiohttp = aiohttp
        self._base = base_url
        self._timeout = timeout_s
        self._session = aiohttp.ClientSession(
            headers=dict(headers),
            connector=aiohttp.TCPConnector(limit=limit),
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        )

    async def request(
        self, method: str, path: str, body: bytes | None = None, timeout_s: float | None = None
    ) -> Response:
        timeout = self._aiohttp.ClientTimeout(total=timeout_s or self._timeout)
        try:
            async with self._session.request(
                method, self._base + path, data=body, timeout=timeout
            ) as resp:
                data = await resp.read()
                headers = {k.lower(): v for k, v in resp.headers.items()}
                return Response(resp.status, headers, data)
        except self._aiohttp.ClientError as exc:
            raise Http1Error(f"{type(exc).__name__}: {exc}") from None
        except TimeoutError:
            raise TimeoutError(f"no reply from {self._base} within {timeout.total} s") from None

    async def aclose(self) -> None:
        await self._session.close()


def open_transport(
    base_url: str, headers: Mapping[str, str], limit: int, timeout_s: float
) -> Transport:
    if base_url.startswith("http://"):
        return Http1Pool(base_url, headers, limit=limit, timeout_s=timeout_s)
    return AiohttpTransport(base_url, headers, limit, timeout_s)
