"""Sandboxed execution of untrusted (model-written) Python programs; see docs/coding.md."""

from evalkit.sandbox.runner import Isolation as Isolation
from evalkit.sandbox.runner import Sandbox as Sandbox
from evalkit.sandbox.runner import scrubbed_env as scrubbed_env
from evalkit.sandbox.verdict import FAILURE_KINDS as FAILURE_KINDS
from evalkit.sandbox.verdict import Limits as Limits
from evalkit.sandbox.verdict import Verdict as Verdict

__all__ = ["FAILURE_KINDS", "Isolation", "Limits", "Sandbox", "Verdict", "scrubbed_env"]
