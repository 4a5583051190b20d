"""Where evalkit finds its bundled specs and keeps its cache."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parent


def bundled_dir(name: str) -> Path:
    """``benchmarks``/``judges``/``reports/templates`` from a source checkout, else from the wheel."""
    source = _REPO / name
    if source.is_dir() and (_REPO / "pyproject.toml").is_file():  # a source checkout, not site-packages
        return source
    return _PACKAGE / "_bundled" / name.replace("reports/templates", "report_templates")


def cache_dir() -> Path:
    """``EVALKIT_CACHE_DIR``, else the platform's user cache directory."""
    override = os.environ.get("EVALKIT_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("evalkit"))
