"""The exception tree. Every error a user can cause is an ``EvalkitError``.

    EvalkitError            user-facing: the CLI prints its one-line message and exits 2
    ├── ConfigError         bad flag value, bad YAML spec, unknown benchmark / judge / model
    ├── DataError           unreadable or malformed data file or data row
    ├── BackendError        endpoint unreachable, key missing or rejected, model not loadable
    ├── JudgeOutputError    judge output that cannot be parsed (when not recoverable)
    └── BudgetReached       the run stopped at --max-cost / --max-tokens-total (exit 3; resumable)

Anything else escaping to the CLI is a bug in evalkit and keeps its traceback.
"""

from __future__ import annotations


class EvalkitError(Exception):
    """An error caused by input or environment that the user can fix; message says how."""

    exit_code = 2


class ConfigError(EvalkitError):
    """A flag, config file or spec is invalid."""


class DataError(EvalkitError):
    """A data file or one of its rows cannot be read."""


class BackendError(EvalkitError):
    """A model backend cannot be used (unreachable, unauthorised, not loadable)."""


class JudgeOutputError(EvalkitError):
    """Judge output could not be parsed into a verdict."""


class BudgetReached(EvalkitError):
    """The run stopped at its budget: calls in flight finished and were journaled, no new one started.
    Running the same command with a higher budget resumes without repeating a call."""

    exit_code = 3
