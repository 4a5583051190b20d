"""WordNet offline: laid out from Debian's files (copies plus the lexnames table), or one clear error."""

from __future__ import annotations

import gzip
import re
import warnings
from pathlib import Path

import nltk
import pytest

from evalkit.errors import DataError
from evalkit.metrics.wordnet import (
    DEBIAN_WORDNET,
    LEXICOGRAPHER_FILES,
    REQUIRED_FILES,
    ensure_wordnet,
    layout_wordnet,
    lexnames_text,
)

needs_debian = pytest.mark.skipif(not (DEBIAN_WORDNET / "index.sense").is_file(),
                                  reason="apt-get install wordnet-base wordnet-sense-index")
_POS_PREFIX = {"n": "noun", "v": "verb", "a": "adj", "s": "adj", "r": "adv"}


def test_lexnames_has_45_numbered_lines_with_categories():
    lines = [line.split("\t") for line in lexnames_text().splitlines()]
    assert len(lines) == 45
    assert [int(number) for number, _, _ in lines] == list(range(45))
    assert lines[3] == ["03", "noun.Tops", "1"] and lines[29] == ["29", "verb.body", "2"]
    assert lines[44] == ["44", "adj.ppl", "3"] and lines[2] == ["02", "adv.all", "4"]


def test_lexnames_agree_with_wordnets_own_manual():
    page = Path("/usr/share/man/man5/lexnames.5WN.gz")
    if not page.is_file():
        pytest.skip("the lexnames(5WN) manual page is not installed")
    listed = re.findall(r"^(\d\d)\t(\S+)", gzip.decompress(page.read_bytes()).decode(), flags=re.M)
    assert [name for _, name in listed] == list(LEXICOGRAPHER_FILES)


@needs_debian
def test_lexnames_order_matches_the_database():
    """Every synset's lexicographer file number names a file of the synset's own part of speech."""
    seen = set()
    for pos in ("adj", "adv", "noun", "verb"):
        with open(DEBIAN_WORDNET / f"data.{pos}", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("  "):  # licence header
                    continue
                _, lex_number, pos_char = line.split(" ", 3)[:3]
                name = LEXICOGRAPHER_FILES[int(lex_number)]
                assert name.split(".")[0] == _POS_PREFIX[pos_char], line[:60]
                seen.add(name)
    assert seen == set(LEXICOGRAPHER_FILES)


@needs_debian
def test_layout_copies_files_and_nltk_reads_them(tmp_path, monkeypatch):
    from nltk.corpus.reader import WordNetCorpusReader

    monkeypatch.setattr(nltk.data, "path", [str(tmp_path / "nltk_data")])  # nltk reads only under its roots
    corpus = layout_wordnet(DEBIAN_WORDNET, tmp_path / "nltk_data")
    assert corpus == tmp_path / "nltk_data" / "corpora" / "wordnet"
    for name in (*REQUIRED_FILES, "lexnames"):
        assert (corpus / name).is_file() and not (corpus / name).is_symlink()
    assert not [p for p in corpus.parent.iterdir() if p.name.startswith(".wordnet-")]  # no staging left behind
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no Open Multilingual WordNet here
        wordnet = WordNetCorpusReader(str(corpus), None)
    assert wordnet.synset("dog.n.01").lexname() == "noun.animal"
    assert wordnet.lemma_from_key("dog%1:05:00::").synset() == wordnet.synset("dog.n.01")  # index.sense
    assert {lemma.name() for lemma in wordnet.synsets("car")[0].lemmas()} >= {"car", "automobile"}
    assert layout_wordnet(DEBIAN_WORDNET, tmp_path / "nltk_data") == corpus  # a second call keeps the copy


@needs_debian
def test_ensure_wordnet_lays_out_into_the_evalkit_cache(monkeypatch, isolated_cache):
    monkeypatch.setattr(nltk.data, "path", [])  # as if nltk had no data of its own
    root = ensure_wordnet()
    assert root == isolated_cache / "nltk_data"
    assert (root / "corpora" / "wordnet" / "lexnames").read_text() == lexnames_text()
    assert nltk.data.find("corpora/wordnet")  # nltk itself now finds it


def test_no_wordnet_anywhere_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(nltk.data, "path", [])
    with pytest.raises(DataError) as error:
        ensure_wordnet(source=tmp_path / "empty")
    message = str(error.value)
    assert "\n" not in message
    assert "apt-get install wordnet-base wordnet-sense-index" in message
    assert "python -m nltk.downloader wordnet" in message


@needs_debian
def test_concurrent_layouts_all_succeed(tmp_path):
    """Several processes starting METEOR at once: each copy is staged and renamed, one wins, none fails."""
    import subprocess
    import sys

    code = ("import sys; from pathlib import Path; from evalkit.metrics.wordnet import layout_wordnet; "
            "layout_wordnet(Path(sys.argv[1]), Path(sys.argv[2]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(DEBIAN_WORDNET), str(tmp_path / "root")],
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for proc in procs:
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, stderr
    corpus = tmp_path / "root" / "corpora" / "wordnet"
    assert sorted(p.name for p in corpus.parent.iterdir()) == ["wordnet"]
    assert (corpus / "lexnames").read_text() == lexnames_text()
    assert all((corpus / name).stat().st_size == (DEBIAN_WORDNET / name).stat().st_size for name in REQUIRED_FILES)
