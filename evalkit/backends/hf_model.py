"""Load a transformers causal LM (directory, hub id or GGUF file) and run its two batched primitives:
score continuations and generate. The only module besides hf.py that imports torch/transformers.

Every load failure becomes one BackendError line: a path that is not a model, a GGUF without a
tokenizer, out of memory.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evalkit.backends.local_text import TextCodec
from evalkit.errors import BackendError

_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".gguf", ".json", ".model", ".txt")
_OOM_MARKERS = ("out of memory", "can't allocate memory", "cannot allocate memory", "not enough memory")


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    source: str
    gguf_file: str | None
    fingerprint: str
    dtype_name: str
    device: Any
    max_length: int

    codec: TextCodec = field(init=False)

    def __post_init__(self) -> None:
        self.codec = TextCodec(self.tokenizer)

    # --- facts ----------------------------------------------------------------------------------
    @property
    def eos_id(self) -> int:
        return self.codec.eos_id

    @property
    def pad_id(self) -> int:
        return self.codec.pad_id

    @property
    def _cache_arg(self) -> str:
        """transformers ≥ 5.x names the forward's cache ``cache``; earlier ``past_key_values``."""
        import inspect

        return "cache" if "cache" in inspect.signature(self.model.forward).parameters else "past_key_values"

    @property
    def n_parameters(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))

    # --- batched primitives ---------------------------------------------------------------------
    def _left_pad(self, rows: list[list[int]]) -> tuple[Any, Any, Any]:
        import torch

        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, width - len(row):] = torch.tensor(row, dtype=torch.long)
            mask[i, width - len(row):] = 1
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        return ids.to(self.device), mask.to(self.device), positions.to(self.device)

    def score_continuations(self, inputs: list[list[int]], targets: list[list[int]]) -> list[tuple[float, bool]]:
        """For each row: sum of log p(target tokens), and whether each was the greedy choice.
        ``inputs`` is context + continuation minus its last token; targets end the row."""
        import torch

        ids, mask, positions = self._left_pad(inputs)
        keep = max(len(t) for t in targets)
        with torch.inference_mode():
            logits = self.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                                use_cache=False, logits_to_keep=keep).logits
            logprobs = torch.log_softmax(logits.float(), dim=-1)
        out = []
        for row, target in enumerate(targets):
            rows = logprobs[row, keep - len(target):]
            wanted = torch.tensor(target, device=rows.device).unsqueeze(-1)
            picked = rows.gather(-1, wanted).squeeze(-1)
            greedy = bool((rows.argmax(-1) == wanted.squeeze(-1)).all())
            out.append((float(picked.sum()), greedy))
        return out

    def score_shared_contexts(self, contexts: list[list[int]],
                              continuations: list[list[list[int]]]) -> list[list[tuple[float, bool]]]:
        """As ``score_continuations`` for many continuations of each context, running each context
        once: its key/value cache is copied to every continuation (a multiple-choice question is
        encoded once, not once per choice). Same numbers as the full forward, up to rounding."""
        import torch

        ids, mask, positions = self._left_pad(contexts)
        owners = [g for g, conts in enumerate(continuations) for _ in conts]
        flat = [c for conts in continuations for c in conts]
        tail = max(len(c) for c in flat) - 1
        with torch.inference_mode():
            out = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                             logits_to_keep=1)
            first = torch.log_softmax(out.logits[:, -1].float(), dim=-1)  # predicts each continuation's 1st token
            rest = None
            if tail > 0:
                owner_index = torch.tensor(owners, device=ids.device)
                cache = out.cache if self._cache_arg == "cache" else out.past_key_values
                cache.reorder_cache(owner_index)
                tail_ids = torch.full((len(flat), tail), self.pad_id, dtype=torch.long)
                tail_mask = torch.zeros((len(flat), tail), dtype=torch.long)
                for row, cont in enumerate(flat):
                    tail_ids[row, : len(cont) - 1] = torch.tensor(cont[:-1], dtype=torch.long)
                    tail_mask[row, : len(cont) - 1] = 1
                context_lengths = mask.sum(-1)[owner_index]
                tail_positions = context_lengths.unsqueeze(-1) + torch.arange(tail, device=ids.device)
                full_mask = torch.cat([mask[owner_index], tail_mask.to(ids.device)], dim=-1)
                rest = self.model(input_ids=tail_ids.to(ids.device), attention_mask=full_mask,
                                  position_ids=tail_positions, use_cache=True, **{self._cache_arg: cache}).logits
            results: list[list[tuple[float, bool]]] = [[] for _ in contexts]
            for row, (owner, cont) in enumerate(zip(owners, flat)):
                head = first[owner]
                total, greedy = float(head[cont[0]]), int(head.argmax()) == cont[0]
                if len(cont) > 1 and rest is not None:
                    logprobs = torch.log_softmax(rest[row, : len(cont) - 1].float(), dim=-1)
                    wanted = torch.tensor(cont[1:], device=logprobs.device)
                    total += float(logprobs.gather(-1, wanted.unsqueeze(-1)).sum())
                    greedy = greedy and bool((logprobs.argmax(-1) == wanted).all())
                results[owner].append((total, greedy))
        return results

    def generate(self, prompts: list[list[int]], max_tokens: int, temperature: float, top_p: float,
                 seeds: list[int | None], stop: tuple[str, ...] = (),
                 max_time: float | None = None) -> list[tuple[list[int], bool]]:
        """New tokens per row (up to the first end-of-sequence) and whether it ended there; ``max_time``
        stops the whole batch after that many seconds (the caller errors the rows it cut short)."""
        import torch
        from transformers import GenerationConfig, LogitsProcessorList, StoppingCriteriaList

        ids, mask, positions = self._left_pad(prompts)
        config = GenerationConfig(max_new_tokens=max_tokens, do_sample=False, num_beams=1, max_time=max_time,
                                  pad_token_id=self.pad_id, eos_token_id=self.eos_id)
        processors = LogitsProcessorList()
        if temperature > 0:
            processors.append(_SeededSampler(seeds, temperature, top_p))
        criteria = StoppingCriteriaList([_StopOnText(self.tokenizer, ids.shape[1], stop)] if stop else [])
        with torch.inference_mode():
            sequences = self.model.generate(input_ids=ids, attention_mask=mask, generation_config=config,
                                            logits_processor=processors, stopping_criteria=criteria)
        out = []
        for row in sequences[:, ids.shape[1]:].tolist():
            ended = self.eos_id in row
            out.append((row[: row.index(self.eos_id)] if ended else row, ended))
        return out

    def release(self) -> None:
        self.model = None
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass


class _SeededSampler:
    """Samples each row from its own seeded generator, then leaves only that token for the greedy
    step, so a sampled answer depends on its seed alone, never on its batch neighbours."""

    def __init__(self, seeds: list[int | None], temperature: float, top_p: float) -> None:
        import torch

        self.generators = [torch.Generator().manual_seed(s) if s is not None else None for s in seeds]
        self.temperature = temperature
        self.top_p = top_p

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import torch

        chosen = scores.argmax(-1).cpu()
        for row, generator in enumerate(self.generators):
            if generator is None:
                continue
            probs = torch.softmax(scores[row].float().cpu() / self.temperature, dim=-1)
            if self.top_p < 1.0:
                ordered, order = probs.sort(descending=True)
                outside = ordered.cumsum(-1) - ordered >= self.top_p  # keep the smallest head reaching top_p
                probs = probs.scatter(0, order[outside], 0.0)
            chosen[row] = torch.multinomial(probs, 1, generator=generator)[0]
        forced = torch.full_like(scores, float("-inf"))
        forced[torch.arange(scores.shape[0]), chosen.to(scores.device)] = 0.0
        return forced


class _StopOnText:
    """Stop a row once its *generated* text holds a stop string (transformers' own stop_strings
    also match across the prompt boundary, which would end an answer before it starts)."""

    def __init__(self, tokenizer: Any, prompt_length: int, stop: tuple[str, ...]) -> None:
        self.tokenizer = tokenizer
        self.prompt_length = prompt_length
        self.stop = [s for s in stop if s]

    def __call__(self, input_ids: Any, scores: Any, **_: Any) -> Any:
        import torch

        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
        return torch.tensor([any(s in text for s in self.stop) for text in texts], device=input_ids.device)


# --- loading ------------------------------------------------------------------------------------
def fingerprint_files(directory: Path, gguf_file: str | None) -> str:
    """Changes when the files change (a retrained checkpoint at the same path must not hit the cache)."""
    files = [directory / gguf_file] if gguf_file else sorted(p for p in directory.iterdir()
                                                              if p.is_file() and p.suffix in _WEIGHT_SUFFIXES)
    blob = "|".join(f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def locate_model(source: str, provider: str = "hf") -> tuple[str, str | None, Path | None]:
    """(what to pass to from_pretrained, gguf file name, local directory or None for a hub id);
    ``provider`` names the ``--model`` prefix in error messages."""
    path = Path(source).expanduser()
    if path.suffix == ".gguf":
        if not path.is_file():
            raise BackendError(f"{provider}:{source}: no such GGUF file")
        return str(path.parent.resolve()), path.name, path.parent.resolve()
    if path.is_file():
        raise BackendError(f"{provider}:{source} is a file but not a model: pass a model directory or a .gguf file")
    if path.is_dir():
        if (path / "config.json").is_file():
            return str(path.resolve()), None, path.resolve()
        ggufs = sorted(path.glob("*.gguf"))
        if len(ggufs) == 1:
            return str(path.resolve()), ggufs[0].name, path.resolve()
        raise BackendError(f"{provider}:{source} is not a model directory (no config.json"
                           f"{', and ' + str(len(ggufs)) + ' .gguf files: name one' if ggufs else ''})")
    if source.startswith((".", "/", "~")) or source.count("/") > 1 or os.sep + os.sep in source:
        raise BackendError(f"{provider}:{source}: no such directory")
    return source, None, None  # a hub id


@contextlib.contextmanager
def quiet_tqdm() -> Iterator[None]:
    """transformers' GGUF converter draws a raw tqdm bar that its progress-bar switch ignores."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # pragma: no cover - older transformers without GGUF support
        yield
        return
    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return
    gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def is_oom(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError" or any(
        marker in str(exc).lower() for marker in _OOM_MARKERS)


def _resolve(dtype: str, device: str) -> tuple[Any, Any, str]:
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        target = torch.device(device)
    except RuntimeError:
        raise BackendError(f"--device {device!r} is not a device (auto, cpu, cuda, cuda:1…)") from None
    if target.type == "cuda" and not torch.cuda.is_available():
        raise BackendError(f"--device {device}: CUDA is not available here; use --device cpu")
    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype == "auto":
        dtype = "float32" if target.type == "cpu" else ("bfloat16" if torch.cuda.is_bf16_supported() else "float16")
    if dtype not in names:
        raise BackendError(f"--dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    return names[dtype], target, dtype


def _max_length(model: Any, tokenizer: Any) -> int:
    """The context window, found as lm-evaluation-harness finds it."""
    for attr in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(model.config, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    value = getattr(tokenizer, "model_max_length", None)
    return value if isinstance(value, int) and 0 < value < 10**9 else 2048


def load_tokenizer(where: str, gguf_file: str | None, source: str, provider: str = "hf") -> Any:
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(where, gguf_file=gguf_file) if gguf_file else \
            AutoTokenizer.from_pretrained(where)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for one cause
        if gguf_file and Path(where, "tokenizer.json").is_file():
            return AutoTokenizer.from_pretrained(where)  # the tokenizer sits next to the GGUF
        if gguf_file:
            raise BackendError(f"{provider}:{source}: the GGUF holds no usable tokenizer ({one_line(exc)}); "
                               "put tokenizer.json beside it or pass the original model directory") from None
        raise BackendError(f"{provider}:{source}: cannot load its tokenizer: {one_line(exc)}") from None


def load_model(source: str, dtype: str, device: str) -> LoadedModel:
    """Load once; raise BackendError with one line for anything the user can fix."""
    # OpenMP threads that spin while they wait for each other burn 5-7x the CPU when the cores are
    # shared (measured on 2 busy cores: 31 s vs 5 s for the same 64 ARC scores); waiting passively
    # costs next to nothing on an idle machine. Takes effect when torch is first imported; users may
    # set their own.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import torch  # noqa: F401 - missing torch gets the clear message below
        from transformers import AutoModelForCausalLM
        from transformers.utils import logging as hf_logging
    except ImportError as exc:
        raise BackendError(f"hf models need torch and transformers ({exc.name} is missing): "
                           "pip install 'evalkit[local]'") from None
    hf_logging.disable_progress_bar()
    torch_dtype, target, dtype_name = _resolve(dtype, device)
    where, gguf_file, directory = locate_model(source)
    with quiet_tqdm():
        tokenizer = load_tokenizer(where, gguf_file, source)
    try:
        kwargs: dict[str, Any] = {"gguf_file": gguf_file} if gguf_file else {}
        with quiet_tqdm():  # the GGUF converter draws its own progress bar
            model = AutoModelForCausalLM.from_pretrained(where, dtype=torch_dtype, **kwargs)
        model.to(target)
    except BackendError:
        raise
    except Exception as exc:  # noqa: BLE001 - loading fails in many library-specific ways
        if is_oom(exc):
            raise BackendError(f"hf:{source}: out of memory while loading ({dtype_name} on {target}); "
                               "try --dtype bfloat16, a smaller model or another --device") from None
        raise BackendError(f"hf:{source}: cannot load the model: {one_line(exc)}") from None
    model.eval()
    fingerprint = fingerprint_files(directory, gguf_file) if directory else str(
        getattr(model.config, "_commit_hash", None) or "hub")
    return LoadedModel(model=model, tokenizer=tokenizer, source=where if directory else source, gguf_file=gguf_file,
                       fingerprint=fingerprint, dtype_name=dtype_name, device=target,
                       max_length=_max_length(model, tokenizer))
