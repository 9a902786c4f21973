"""The test server on its own event loop in a daemon thread, for synchronous tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from evalr.testing.server import ChatCompletionsServer, ServerConfig


class ServerThread:
    """``with ServerThread(config) as srv:`` then ``srv.base_url``, ``srv.stats()``,
    ``srv.reconfigure(fail_rate=0)``. State is only touched on the server's loop."""

    def __init__(self, config: ServerConfig | None = None, port: int = 0) -> None:
        self.server = ChatCompletionsServer(config)
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="evalr-test-server", daemon=True
        )

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._call(self.server.start(self._port))
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def stats(self, detail: bool = True) -> dict[str, Any]:
        return self._on_loop(self.server.stats, detail)

    def reset_stats(self) -> None:
        self._on_loop(self.server.reset_stats)

    def reconfigure(self, **changes: Any) -> None:
        self._on_loop(lambda: self.server.reconfigure(**changes))

    def close(self) -> None:
        if self._thread.is_alive():
            self._call(self.server.stop())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def model_spec(self, model: str = "evalr-test", key_env: str | None = None) -> str:
        """The ``--model`` spec that reaches this server (``openai:MODEL?base_url=...``)."""
        key = f"&api_key_env={key_env}" if key_env else ""
        return f"openai:{model}?base_url={self.base_url}{key}"

    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> Any:
        async def call() -> Any:
            return fn(*args)

        return self._call(call())

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)


def mirror_server(data_dir: Path, p_correct: float = 0.6, **config: Any) -> ServerThread:
    """A started server that knows the gold answer of every problem in the offline mirror at
    ``data_dir`` and answers correctly with probability ``p_correct``; close it when done."""
    from evalr.testing.mirror import mirror_answer_key
    from evalr.testing.oracle import Oracle

    oracle = Oracle(key=mirror_answer_key(data_dir), p_correct=p_correct)
    return ServerThread(ServerConfig(oracle=oracle, **config)).__enter__()
