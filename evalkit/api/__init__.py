"""The public Python API, re-exported by ``evalkit`` (see docs/api.md): one call to evaluate, one to load."""

from __future__ import annotations

from evalkit.api._evaluate import evaluate as evaluate
from evalkit.api._evaluate import evaluate_async as evaluate_async
from evalkit.api._evaluate import run_config as run_config
from evalkit.api._results import Results as Results
from evalkit.api._results import load_run as load_run
