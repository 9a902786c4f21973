"""Stop a run early when the endpoint plainly does not work.

Without it, a server that answers every request with a 500, a 401 or an HTML page is retried
with backoff for every attempt of every problem: hours for a default AIME run. The breaker sees
every try (retries included). When the run's first ``first`` tries all failed with one cause
and none succeeded, or the last ``window`` tries all failed with one cause, it opens: no
further request is sent and the run ends with that cause, a short scrubbed snippet of what the
server said, and everything stored so far kept. Rate limiting (429, Retry-After) is the server
pacing us, not failing: it neither counts nor resets.
"""

from __future__ import annotations

from dataclasses import dataclass

from evalr.errors import BackendError, CircuitOpen, TransientBackendError


@dataclass(frozen=True)
class BreakerPolicy:
    first: int = 8  # the run's first tries, all failing the same way, with no success yet
    window: int = 32  # or this many consecutive tries failing the same way, later in the run

    def __post_init__(self) -> None:
        if self.first < 1 or self.window < 1:
            raise ValueError("breaker thresholds must be at least 1")


class Breaker:
    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.succeeded = False
        self.cause: str | None = None
        self.streak = 0
        self.last: BackendError | None = None
        self.opened: CircuitOpen | None = None

    def check(self) -> None:
        """Raise if the breaker is open: no request is sent once it is."""
        if self.opened is not None:
            raise self.opened

    def success(self) -> None:
        self.succeeded = True
        self.cause, self.streak = None, 0

    def failure(self, error: BackendError) -> None:
        if isinstance(error, TransientBackendError) and error.rate_limited:
            return
        if error.cause == self.cause:
            self.streak += 1
        else:
            self.cause, self.streak = error.cause, 1
        self.last = error
        limit = self.policy.window if self.succeeded else self.policy.first
        if self.streak >= limit and self.opened is None:
            where = "tries since the last success" if self.succeeded else "tries of the run"
            self.opened = CircuitOpen(
                f"stopped early: the last {self.streak} {where} all failed with {error.cause} "
                f"({str(error)[:240]})",
                cause=error.cause,
            )
