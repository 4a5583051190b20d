"""Memoised stand-ins for the two slow lookups inside nltk's METEOR and rouge-score's tokenizer.

Both libraries accept the stemmer (and METEOR the WordNet reader) as a parameter, so we pass these and
still run the libraries' own scoring code. Each wrapper returns exactly what the wrapped object returns
for the same word; the parity tests compare against the unwrapped libraries.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_WORD_CACHE = 1 << 18


class CachedStemmer:
    """nltk's ``PorterStemmer()`` (NLTK_EXTENSIONS mode, as both libraries construct it), memoised."""

    def __init__(self) -> None:
        from nltk.stem.porter import PorterStemmer

        self._stemmer = PorterStemmer()
        self.stem = lru_cache(maxsize=_WORD_CACHE)(self._stem)

    def _stem(self, word: str) -> str:
        return str(self._stemmer.stem(word))


class _Lemma:
    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name


class _LemmaSet:
    """One pseudo-synset holding the distinct lemma names of all a word's synsets."""

    __slots__ = ("_lemmas",)

    def __init__(self, names: list[str]) -> None:
        self._lemmas = tuple(_Lemma(n) for n in names)

    def lemmas(self) -> tuple[_Lemma, ...]:
        return self._lemmas


class CachedWordNet:
    """The one WordNet call METEOR makes, ``synsets(word)``, memoised.

    nltk's ``_enum_wordnetsyn_match`` only takes the *set* of lemma names over a word's synsets, so one
    pseudo-synset with those names (in first-seen order) yields the same set.
    """

    def __init__(self, wordnet: Any) -> None:
        self._wordnet = wordnet
        self.synsets = lru_cache(maxsize=_WORD_CACHE)(self._synsets)

    def _synsets(self, word: str) -> tuple[_LemmaSet, ...]:
        names = dict.fromkeys(lemma.name() for synset in self._wordnet.synsets(word) for lemma in synset.lemmas())
        return (_LemmaSet(list(names)),) if names else ()
