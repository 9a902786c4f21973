"""Server-sent events for the test server: a finished reply streamed as chat-completion chunks.

Each choice's reasoning and content go out in several deltas (so a client must assemble them),
then its finish reason; usage comes in a last chunk without choices when the request asked for
it (``stream_options.include_usage``), as OpenAI and vLLM send it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from aiohttp import web

_PIECES = 3  # deltas per text field


def _split(text: str) -> Iterator[str]:
    step = max(1, -(-len(text) // _PIECES))
    for start in range(0, len(text), step):
        yield text[start : start + step]


def chunks(payload: Mapping[str, Any], include_usage: bool) -> Iterator[dict[str, Any]]:
    head = {k: payload[k] for k in ("id", "created", "model") if k in payload}
    head["object"] = "chat.completion.chunk"
    for choice in payload["choices"]:
        index, message = choice["index"], choice["message"]
        yield {**head, "choices": [{"index": index, "delta": {"role": "assistant"}}]}
        for field in ("reasoning_content", "content"):
            for piece in _split(message.get(field) or ""):
                yield {**head, "choices": [{"index": index, "delta": {field: piece}}]}
        done = {"index": index, "delta": {}, "finish_reason": choice["finish_reason"]}
        yield {**head, "choices": [done]}
    if include_usage:
        yield {**head, "choices": [], "usage": payload["usage"]}


async def stream_reply(
    request: web.Request, payload: Mapping[str, Any], options: Any
) -> web.StreamResponse:
    include_usage = isinstance(options, Mapping) and bool(options.get("include_usage"))
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    for chunk in chunks(payload, include_usage):
        await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response
