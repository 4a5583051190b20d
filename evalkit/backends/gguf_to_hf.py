"""A GGUF file as a plain Hugging Face model directory (dequantised float32 weights + tokenizer).

Engines that cannot read a GGUF themselves (vLLM on the CPU) and peers that need a directory
(lm-evaluation-harness, bench/) load this instead. transformers dequantises the GGUF, but a
GGUF-loaded model refuses ``save_pretrained``: so the config loses its quantization entry, a
fresh model is built from it, the weights are copied in, and that is saved. Imports torch.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from evalkit.backends.hf_model import one_line, quiet_tqdm
from evalkit.errors import BackendError
from evalkit.paths import cache_dir


def gguf_fingerprint(gguf: Path) -> str:
    """Changes when the file changes (name, size, mtime)."""
    stat = gguf.stat()
    return hashlib.sha256(f"{gguf.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]


def convert_gguf(gguf: Path, target: Path) -> Path:
    """Write ``gguf`` as an HF directory at ``target`` (replaced atomically); returns ``target``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    try:
        with quiet_tqdm():
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for one cause
        raise BackendError(f"{gguf}: cannot convert the GGUF to a model directory: {one_line(exc)}") from None
    config = loaded.config
    config.quantization_config = None
    config.__dict__.pop("quantization_config", None)
    fresh = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict())
    partial = target.with_name(f"{target.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    fresh.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
    return target


def converted_dir(gguf: Path) -> Path:
    """The HF directory for ``gguf``, converted once and kept in evalkit's cache directory."""
    target = cache_dir() / "gguf-as-hf" / f"{gguf.stem}-{gguf_fingerprint(gguf)}"
    if (target / "config.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    return convert_gguf(gguf, target)
