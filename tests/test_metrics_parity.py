"""evalkit's metrics equal the reference libraries on real text: sacrebleu, rouge-score, nltk.

Hypotheses and references are outputs of different models for the same AlpacaEval instruction, paired
line by line (short, MT-like segments) and as multi-line answers (for ROUGE-Lsum), with one or two
references per item.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from evalkit.metrics import MetricOptions, compute

MODELS = ("alpaca-7b", "claude-2.1", "gpt-3.5-turbo-1106", "gpt4_1106_preview")


def _outputs(data_dir: Path) -> dict[str, list[str]]:
    root = data_dir / "alpaca_eval" / "results"
    return {m: [r["output"] for r in json.loads((root / m / "model_outputs.json").read_text())] for m in MODELS}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


@pytest.fixture(scope="module")
def line_pairs(data_dir: Path) -> list[tuple[str, list[str]]]:
    """Single-reference line pairs across every pair of models, every 7th kept for spread (≥ 3000)."""
    outputs = _outputs(data_dir)
    pairs = [(h, [r]) for a, b in itertools.combinations(MODELS, 2) for x, y in zip(outputs[a], outputs[b])
             for h, r in zip(_lines(x), _lines(y))]
    return pairs[::7]


@pytest.fixture(scope="module")
def multi_ref(data_dir: Path) -> list[tuple[str, list[str]]]:
    """600 items: the first 4 lines of one model's answer against one or two other models' answers."""
    outputs = _outputs(data_dir)
    items = []
    for i in range(600):
        hyp, *refs = ("\n".join(_lines(outputs[m][i])[:4]) for m in itertools.islice(itertools.cycle(MODELS), i % 4, i % 4 + 3))
        items.append((hyp, refs[: 1 + i % 2]))
    return items


def _split(pairs: list[tuple[str, list[str]]]) -> tuple[list[str], list[list[str]]]:
    return [h for h, _ in pairs], [r for _, r in pairs]


def _streams(refs: list[list[str]]) -> list[list[str | None]]:
    width = max(len(r) for r in refs)
    return [[r[k] if k < len(r) else None for r in refs] for k in range(width)]


@pytest.mark.parametrize("name", ["bleu", "chrf", "chrf++"])
@pytest.mark.parametrize("which", ["line_pairs", "multi_ref"])
def test_bleu_chrf_equal_sacrebleu(name, which, request):
    from sacrebleu.metrics import BLEU, CHRF

    hyps, refs = _split(request.getfixturevalue(which)[:1500])
    assert len(hyps) >= 500
    ours = compute([name], hyps, refs, MetricOptions(jobs=1))
    if name == "bleu":
        corpus_metric, sentence_metric = BLEU(), BLEU(effective_order=True)  # sentence_bleu's settings
    else:
        corpus_metric = sentence_metric = CHRF(word_order=2 if name == "chrf++" else 0)
    theirs = corpus_metric.corpus_score(hyps, _streams(refs), n_bootstrap=1000)
    table = ours.corpus[name]
    assert table["value"] == theirs.score
    assert table["bootstrap_mean"] == theirs._mean
    assert (table["ci95"][1] - table["ci95"][0]) / 2 == pytest.approx(theirs._ci, abs=1e-9)
    assert ours.signatures[name] == corpus_metric.get_signature().format()
    sentences = [sentence_metric.sentence_score(h, r).score for h, r in zip(hyps, refs)]
    assert [row[f"sentence_{name}"] for row in ours.per_sample] == sentences


def test_ter_equals_sacrebleu(line_pairs, multi_ref):
    from sacrebleu.metrics import TER

    # TER's shift search grows fast with length: short segments keep the reference loop quick
    short = [p for p in line_pairs if len(p[0].split()) <= 12 and len(p[1][0].split()) <= 12][:470]
    first_lines = [(h.split("\n")[0], [r.split("\n")[0] for r in rs]) for h, rs in multi_ref]
    items = short + [p for p in first_lines if all(len(t.split()) <= 12 for t in (p[0], *p[1]))][:100]
    assert len(items) >= 500
    hyps, refs = _split(items)
    ours = compute(["ter"], hyps, refs, MetricOptions(jobs=2))
    metric = TER()
    theirs = metric.corpus_score(hyps, _streams(refs), n_bootstrap=1000)
    assert ours.corpus["ter"]["value"] == theirs.score and ours.corpus["ter"]["bootstrap_mean"] == theirs._mean
    assert ours.signatures["ter"] == metric.get_signature().format() and "nrefs:var" in ours.signatures["ter"]
    assert [row["sentence_ter"] for row in ours.per_sample] == [TER().sentence_score(h, r).score
                                                                for h, r in zip(hyps, refs)]
    assert ours.corpus["ter"]["higher_is_better"] is False


@pytest.mark.parametrize("stem", [False, True])
def test_rouge_equals_rouge_score(stem, line_pairs, multi_ref):
    from rouge_score import rouge_scorer

    items = line_pairs[:420] + multi_ref[:80]
    hyps, refs = _split(items)
    ours = compute(["rouge"], hyps, refs, MetricOptions(rouge_stem=stem, jobs=1))
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=stem)
    for row, hyp, rs in zip(ours.per_sample, hyps, refs):
        expected = scorer.score_multi(rs, hyp)
        for kind, score in expected.items():
            assert (row[kind], row[f"{kind}_precision"], row[f"{kind}_recall"]) == \
                (score.fmeasure, score.precision, score.recall)
    # Lsum differs from L only when texts have several lines: make sure those were exercised
    assert any(row["rougeLsum"] != row["rougeL"] for row in ours.per_sample)


def test_meteor_equals_nltk_with_the_same_wordnet(line_pairs, multi_ref):
    from nltk.translate.meteor_score import meteor_score

    from evalkit.metrics.wordnet import load_wordnet

    wordnet = load_wordnet()
    items = line_pairs[:400] + multi_ref[:150]
    hyps, refs = _split(items)
    ours = [row["meteor"] for row in compute(["meteor"], hyps, refs, MetricOptions(jobs=1)).per_sample]
    theirs = [meteor_score([r.split() for r in rs], h.split(), wordnet=wordnet) for h, rs in zip(hyps, refs)]
    assert max(abs(a - b) for a, b in zip(ours, theirs)) <= 1e-9
    assert sum(o > 0 for o in ours) > 400  # real overlap, not a sea of zeros


def test_parallel_path_is_identical_to_serial(line_pairs, multi_ref, tmp_path):
    """Run in a fresh interpreter: other tests may leave threads in this one, and then the pool
    (rightly) refuses to fork and the comparison would test nothing."""
    import json
    import subprocess
    import sys

    hyps, refs = _split(line_pairs[:500] + multi_ref[:100])
    data = tmp_path / "pairs.json"
    data.write_text(json.dumps({"hyps": hyps, "refs": refs}))
    code = f"""
import json
from evalkit.metrics.parallel import resolve_jobs
from evalkit.metrics.suite import MetricOptions, compute
d = json.load(open({str(data)!r}))
assert resolve_jobs(2, len(d["hyps"]), 400) == 2  # the pool really runs here (fork, no other threads)
metrics = ["rouge", "meteor"]
serial = compute(metrics, d["hyps"], d["refs"], MetricOptions(jobs=1, rouge_stem=True))
parallel = compute(metrics, d["hyps"], d["refs"], MetricOptions(jobs=2, rouge_stem=True))
assert parallel.per_sample == serial.per_sample and parallel.corpus == serial.corpus
print("identical")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "identical"


def test_meteor_docstring_example():
    hyp = "It is a guide to action which ensures that the military always obeys the commands of the party"
    ref = "It is a guide to action that ensures that the military will forever heed Party commands"
    assert round(compute(["meteor"], [hyp], [ref]).per_sample[0]["meteor"], 4) == 0.6944


def test_other_threads_keep_the_work_in_process():
    """Forking beside running threads can deadlock: then the serial path is used."""
    import threading

    from evalkit.metrics.parallel import resolve_jobs

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert resolve_jobs(2, 10_000, 400) == 1 and resolve_jobs(None, 10_000, 400) == 1
    finally:
        stop.set()
        thread.join()
    assert resolve_jobs(None, 100, 400) == 1  # too little work for a pool
