"""Reference-text metrics: BLEU, chrF, chrF++, TER, ROUGE, METEOR, exact match and token F1.

Thin wrappers over sacrebleu, rouge-score and nltk that give those libraries' exact numbers, several
references per item, per-sample scores, corpus scores with 95% intervals, and process-level parallelism.

    from evalkit.metrics import compute
    scores = compute(["bleu", "rouge", "meteor"], hypotheses, references)   # references: str or [str, ...]
    scores.corpus["bleu"]["value"], scores.per_sample[0]["meteor"], scores.signatures["bleu"]
"""

from evalkit.metrics.squad import exact_match as exact_match
from evalkit.metrics.squad import normalize_answer as normalize_answer
from evalkit.metrics.squad import token_f1 as token_f1
from evalkit.metrics.suite import DEFAULT_METRICS as DEFAULT_METRICS
from evalkit.metrics.suite import FAMILIES as FAMILIES
from evalkit.metrics.suite import LOWER_IS_BETTER as LOWER_IS_BETTER
from evalkit.metrics.suite import MetricOptions as MetricOptions
from evalkit.metrics.suite import Scores as Scores
from evalkit.metrics.suite import compute as compute
from evalkit.metrics.suite import parse_metrics as parse_metrics
from evalkit.metrics.suite import reported_names as reported_names
from evalkit.metrics.suite import sample_names as sample_names

__all__ = ["DEFAULT_METRICS", "FAMILIES", "LOWER_IS_BETTER", "MetricOptions", "Scores", "compute", "exact_match",
           "normalize_answer", "parse_metrics", "reported_names", "sample_names", "token_f1"]
