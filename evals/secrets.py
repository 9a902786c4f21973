"""Keep credentials off disk and out of logs.

A :class:`Scrubber` holds the secret values a run was configured with (API keys read from the
environment, the user-info of a base URL, the header values built from them) and replaces
every occurrence in text before it is stored or logged, whatever put it there: a server that
echoes the ``Authorization`` header into an error body, a proxy's debug page, a traceback.
URLs are stored without their user-info everywhere (:func:`redact_url`).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

MASK = "[secret]"
_MIN_LEN = 4  # shorter values would mask ordinary text; no real credential is that short


class Scrubber:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = ()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """More secrets (a backend reads its key only when it starts)."""
        values = {*self.secrets, *(s for s in secrets if s and len(s) >= _MIN_LEN)}
        # Longest first, so a key is masked whole before any shorter secret inside it.
        self.secrets = tuple(sorted(values, key=len, reverse=True))

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def header_secrets(value: str) -> list[str]:
    """A secret and the header values made from it (``Bearer KEY``, ``Basic base64``)."""
    return [value, f"Bearer {value}"]


def _split(url: str) -> SplitResult | None:
    try:
        return urlsplit(url)
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """The URL without ``user:password@``; anything else unchanged."""
    parts = _split(url)
    if parts is None or "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=host))


def url_secrets(url: str) -> list[str]:
    """The credentials in a URL's user-info, as typed, decoded and as a Basic header."""
    parts = _split(url)
    if parts is None or "@" not in parts.netloc:
        return []
    userinfo = parts.netloc.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    plain = f"{unquote(user)}:{unquote(password)}"
    basic = base64.b64encode(plain.encode()).decode()
    found = [userinfo, plain, basic, f"Basic {basic}"]
    if password:
        found += [password, unquote(password)]
    return found
