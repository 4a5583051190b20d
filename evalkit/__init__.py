"""evalkit: an LLM evaluation harness that is fast, honest about uncertainty, and hard to break."""

from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["__version__"]
