"""One exception tree; the CLI maps each to a one-line message and an exit code."""

from __future__ import annotations


class EvalrError(Exception):
    """Base of every error evalr reports to a user without a traceback."""

    exit_code = 1


class ConfigError(EvalrError):
    """Bad model spec, task name, option or preset file."""

    exit_code = 2


class LockedError(ConfigError):
    """Another evalr process holds the run directory's one-writer lock."""


class DataError(EvalrError):
    """Dataset missing, malformed or not matching its recorded fingerprint."""

    exit_code = 3


class ResumeError(EvalrError):
    """The run directory holds a run with a different protocol."""

    exit_code = 4


class BackendError(EvalrError):
    """A model backend failed.

    ``cause`` is a short, stable key for what went wrong (``HTTP 500``, ``TimeoutError``,
    ``malformed reply``): the circuit breaker compares causes, error lines count them.
    """

    exit_code = 5

    def __init__(self, message: str, cause: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause or type(self).__name__


class TransientBackendError(BackendError):
    """Worth retrying: 429, 5xx, timeouts, dropped connections."""

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        cause: str | None = None,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(message, cause)
        self.retry_after = retry_after
        # 429 or Retry-After: the server asks us to slow down; never a reason to give up a run.
        self.rate_limited = rate_limited or retry_after is not None


class CircuitOpen(BackendError):
    """Every recent attempt failed the same way: the run stops early, stored work is kept."""


class FatalBackendError(BackendError):
    """Not worth retrying: bad request, authentication, unknown model."""


class SandboxError(EvalrError):
    """No usable sandbox, or the sandbox image is missing."""

    exit_code = 6


class ErrorRateExceeded(EvalrError):
    """More samples failed than ``--max-error-rate`` allows; stored work is kept."""

    exit_code = 7


class StorageError(EvalrError):
    """The run directory could not be written (full disk, quota, file-size limit)."""

    exit_code = 8
