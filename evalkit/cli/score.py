"""`evalkit score`: BLEU, chrF, TER, ROUGE, METEOR, EM/F1 of a predictions file against references.

    evalkit score outputs.jsonl --pred-field output --ref-field reference --metrics bleu,rouge,meteor
    evalkit score hyps.txt -r refs.A.txt -r refs.B.txt            # plain text: one segment per line

References come from columns of the predictions file (``--ref-field``, repeatable; a column may hold a
list) or from separate files aligned line by line (``--references``, repeatable: one reference each).
"""

from __future__ import annotations

import glob
import json
from pathlib import Path
from typing import Annotated, Any

import typer

_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".txt": "text"}


def _format(path: Path) -> str:
    suffix = Path(path.name.removesuffix(".gz")).suffix.lower()
    if suffix not in _FORMATS:
        from evalkit.errors import DataError

        raise DataError(f"{path}: unknown file type {suffix or '(none)'}; use .jsonl, .json, .csv or .txt")
    return _FORMATS[suffix]


def _read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a JSONL/JSON/CSV file, or ``{"text": line}`` per line of a .txt file."""
    from evalkit.data.loading import load_local
    from evalkit.errors import DataError
    from evalkit.specs.benchmark import LocalSource

    if not path.is_file():
        raise DataError(f"{path}: no such file")
    fmt = _format(path)
    if fmt == "text":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DataError(f"cannot read {path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        return [{"text": line.removesuffix("\r"), "_index": i} for i, line in enumerate(lines)]
    return load_local(LocalSource(files=glob.escape(path.name), format=fmt), path.parent)  # type: ignore[arg-type]


def _field(row: dict[str, Any], name: str, path: Path, flag: str) -> Any:
    from evalkit.errors import DataError

    if name not in row:
        fields = ", ".join(k for k in row if not k.startswith("_"))
        raise DataError(f"{path} row {row['_index'] + 1}: no field {name!r} (fields: {fields}); choose one with {flag}")
    return row[name]


def _references(row: dict[str, Any], names: list[str], path: Path) -> list[Any]:
    """One row's reference cells; an empty CSV cell means "no reference in this column"."""
    values = [_field(row, name, path, "--ref-field") for name in names]
    return [None if v == "" and _format(path) == "csv" else v for v in values]


def _flatten(values: list[Any]) -> list[str] | None:
    refs: list[str] = []
    for value in values:
        if isinstance(value, list):
            refs.extend(value)
        elif value is not None:
            refs.append(value)
    return refs or None


def load_pairs(predictions: Path, references: list[Path], pred_field: str, ref_fields: list[str],
               id_field: str | None) -> tuple[list[str], list[Any], list[Any], list[str]]:
    """(ids, hypotheses, references per item, names for error messages) from the input files."""
    from evalkit.errors import DataError

    rows = _read_rows(predictions)
    if not rows:
        raise DataError(f"{predictions}: no predictions (the file is empty)")
    fmt = _format(predictions)
    if fmt == "text" and not references:
        raise DataError(f"{predictions}: a plain-text predictions file needs reference files: add -r REFS.txt")
    text_field = "text" if fmt == "text" else pred_field
    hyps = [_field(r, text_field, predictions, "--pred-field") for r in rows]
    ids = [str(_field(r, id_field, predictions, "--id-field")) if id_field else str(r["_index"] + 1) for r in rows]
    if references:
        streams = []
        for path in references:
            ref_rows = _read_rows(path)
            if len(ref_rows) != len(rows):
                raise DataError(f"{path} has {len(ref_rows)} rows but {predictions} has {len(rows)}: "
                                "references must align one to one with predictions")
            names = ["text"] if _format(path) == "text" else ref_fields
            streams.append([_references(r, names, path) for r in ref_rows])
        refs = [_flatten([v for stream in streams for v in stream[i]]) for i in range(len(rows))]
    else:
        refs = [_flatten(_references(r, ref_fields, predictions)) for r in rows]
    names = [f"{predictions} row {r['_index'] + 1}" + (f" (id {i})" if id_field else "") for r, i in zip(rows, ids)]
    return ids, hyps, refs, names


def score_command(
    predictions: Annotated[Path, typer.Argument(help="Predictions: .jsonl, .json, .csv (columns) or .txt (one per line).")],
    references: Annotated[list[Path] | None, typer.Option("--references", "-r", help="Reference file aligned by row (repeat for more references). Default: columns of the predictions file.")] = None,
    pred_field: Annotated[str, typer.Option(help="Column holding the prediction.")] = "output",
    ref_field: Annotated[list[str] | None, typer.Option(help="Column holding a reference or a list of them (repeatable). Default: reference.")] = None,
    id_field: Annotated[str | None, typer.Option(help="Column naming each item (for messages and per-sample output).")] = None,
    metrics: Annotated[str, typer.Option(help="Comma-separated: bleu, chrf, chrf++, ter, rouge (or rouge1, rouge2, rougeL, rougeLsum), meteor, exact_match, f1.")] = "bleu,chrf,rouge,meteor",
    rouge_stem: Annotated[bool, typer.Option("--rouge-stem/--no-rouge-stem", help="Porter-stem tokens for ROUGE.")] = False,
    bleu_tokenize: Annotated[str | None, typer.Option(help="sacrebleu tokenizer for BLEU (13a, intl, zh, ja-mecab, char, none, …).")] = None,
    lowercase: Annotated[bool | None, typer.Option("--lowercase/--case-sensitive", help="Case handling of BLEU/chrF/TER (default: each metric's own).")] = None,
    n_bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the BLEU/chrF/TER intervals (sacrebleu's paired bootstrap).")] = 1000,
    seed: Annotated[int | None, typer.Option(help="Bootstrap seed (default: sacrebleu's, 12345).")] = None,
    jobs: Annotated[int | None, typer.Option(help="Worker processes for ROUGE/METEOR/TER (default: all CPUs on large inputs).")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the scores (corpus and per sample) as JSON here.")] = None,
) -> None:
    """Score predictions against references with BLEU, chrF, TER, ROUGE, METEOR, EM/F1 (with 95% intervals)."""
    from evalkit.cli.output import print_results
    from evalkit.metrics import MetricOptions, compute, parse_metrics

    families = parse_metrics(metrics)
    options = MetricOptions(rouge_stem=rouge_stem, bleu_tokenize=bleu_tokenize, lowercase=lowercase,
                            n_bootstrap=n_bootstrap, seed=seed, jobs=jobs)
    ids, hyps, refs, names = load_pairs(predictions, list(references or []), pred_field, list(ref_field or ["reference"]),
                                        id_field)
    scores = compute(families, hyps, refs, options, names)
    entry = {"n": len(hyps), "n_errors": 0, "metrics": scores.corpus}
    print_results({"benchmarks": {predictions.name: entry}}, title=f"Scores — {predictions}")
    for name, signature in scores.signatures.items():
        typer.echo(f"{name} signature: {signature}")
    if out is not None:
        report = {"predictions": str(predictions), "references": [str(p) for p in references or []],
                  "metrics": scores.corpus, "signatures": scores.signatures, "n": len(hyps),
                  "options": {"metrics": families, **vars(options)},
                  "samples": [{"id": i, "scores": row} for i, row in zip(ids, scores.per_sample)]}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
