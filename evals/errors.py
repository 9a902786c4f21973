"""One exception tree; the CLI maps each to a one-line message and an exit code."""

from __future__ import annotations


class EvalrError(Exception):
    """Base of every error evalr reports to a user without a traceback."""

    exit_code = 1


class ConfigError(EvalrError):
    """Bad model spec, task name, option or preset file."""

    exit_code = 2


class DataError(EvalrError):
    """Dataset missing, malformed or not matching its recorded fingerprint."""

    exit_code = 3


class ResumeError(EvalrError):
    """The run directory holds a run with a different protocol."""

    exit_code = 4


class BackendError(EvalrError):
    """A model backend failed."""

    exit_code = 5


class TransientBackendError(BackendError):
    """Worth retrying: 429, 5xx, timeouts, dropped connections."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FatalBackendError(BackendError):
    """Not worth retrying: bad request, authentication, unknown model."""


class SandboxError(EvalrError):
    """No usable sandbox, or the sandbox image is missing."""

    exit_code = 6


class ErrorRateExceeded(EvalrError):
    """More samples failed than ``--max-error-rate`` allows; stored work is kept."""

    exit_code = 7
