"""WordNet for METEOR without a download: nltk's own copy if present, else one laid out from Debian's files.

nltk reads WordNet 3.0 from ``<nltk_data>/corpora/wordnet/``. No PyPI package ships it, but Debian's
``wordnet-base`` and ``wordnet-sense-index`` packages hold the same database files under
``/usr/share/wordnet``. We copy them (nltk refuses symlinks that leave its data root) into evalkit's own
nltk data directory and add the ``lexnames`` table Debian leaves out. The copy is built in a temporary
directory and renamed into place, so concurrent processes never see half a corpus.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from evalkit.errors import DataError
from evalkit.paths import cache_dir

DEBIAN_WORDNET = Path("/usr/share/wordnet")
INSTALL_HINT = ("apt-get install wordnet-base wordnet-sense-index (offline-friendly) "
                "or python -m nltk.downloader wordnet")

_POS_FILES = ("adj", "adv", "noun", "verb")
# Files nltk's WordNetCorpusReader opens; cntlist.rev only feeds lemma counts and is optional.
REQUIRED_FILES = (*(f"data.{p}" for p in _POS_FILES), *(f"index.{p}" for p in _POS_FILES),
                  *(f"{p}.exc" for p in _POS_FILES), "index.sense")
OPTIONAL_FILES = ("cntlist.rev",)

# The lexicographer files of WordNet 3.0, in the order of their numbers (lexnames(5WN)).
LEXICOGRAPHER_FILES = (
    "adj.all", "adj.pert", "adv.all",
    "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute", "noun.body",
    "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant",
    "noun.possession", "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state",
    "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition",
    "verb.consumption", "verb.contact", "verb.creation", "verb.emotion", "verb.motion",
    "verb.perception", "verb.possession", "verb.social", "verb.stative", "verb.weather",
    "adj.ppl",
)
_SYNTACTIC_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}


def lexnames_text() -> str:
    """The 45-line ``lexnames`` file: number, lexicographer file name, syntactic category."""
    return "".join(f"{i:02d}\t{name}\t{_SYNTACTIC_CATEGORY[name.split('.')[0]]}\n"
                   for i, name in enumerate(LEXICOGRAPHER_FILES))


def nltk_data_dir() -> Path:
    """evalkit's private nltk data root (under the evalkit cache directory)."""
    return cache_dir() / "nltk_data"


def _corpus_dir(root: Path) -> Path:
    return root / "corpora" / "wordnet"


def is_complete(corpus: Path) -> bool:
    return all((corpus / name).is_file() for name in (*REQUIRED_FILES, "lexnames"))


def layout_wordnet(source: Path, root: Path) -> Path:
    """Copy Debian's WordNet files from ``source`` into ``root/corpora/wordnet`` (atomic); returns the corpus dir."""
    corpus = _corpus_dir(root)
    if is_complete(corpus):
        return corpus
    missing = [name for name in REQUIRED_FILES if not (source / name).is_file()]
    if missing:
        raise DataError(f"WordNet files missing from {source}: {', '.join(missing)}; install them: {INSTALL_HINT}")
    corpus.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=corpus.parent))
    os.chmod(staging, 0o755)  # mkdtemp makes it private; the cache may be shared
    try:
        for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
            if (source / name).is_file():
                shutil.copyfile(source / name, staging / name)  # a copy: nltk rejects links out of its root
        (staging / "lexnames").write_text(lexnames_text(), encoding="utf-8")
        if corpus.exists() and not is_complete(corpus):
            shutil.rmtree(corpus)  # a partial copy from an older layout
        try:
            os.rename(staging, corpus)
        except OSError:
            if not is_complete(corpus):  # not a lost race with another process: a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return corpus


def _nltk_has_wordnet() -> bool:
    import nltk

    for resource in ("corpora/wordnet", "corpora/wordnet.zip/wordnet/"):
        try:
            nltk.data.find(resource)
            return True
        except LookupError:
            continue
    return False


def ensure_wordnet(source: Path | None = None) -> Path | None:
    """Make ``nltk.corpus.wordnet`` loadable; returns the data root evalkit added (None: nltk had its own).

    Order: nltk's own data (``nltk.download``, ``NLTK_DATA``), evalkit's earlier layout, a fresh layout
    from Debian's files (``EVALKIT_WORDNET_SOURCE`` overrides /usr/share/wordnet). Raises DataError naming the install commands when none is possible.
    """
    import nltk

    if _nltk_has_wordnet():
        return None
    root = nltk_data_dir()
    if is_complete(_corpus_dir(root)):
        _add_to_search_path(root)
        return root
    source = source or Path(os.environ.get("EVALKIT_WORDNET_SOURCE", DEBIAN_WORDNET))
    if not all((source / name).is_file() for name in REQUIRED_FILES):
        raise DataError(f"METEOR needs WordNet, found neither nltk's copy ({', '.join(nltk.data.path[:2])}, …) "
                        f"nor Debian's files in {source}; install one: {INSTALL_HINT}")
    layout_wordnet(source, root)
    _add_to_search_path(root)
    return root


def _add_to_search_path(root: Path) -> None:
    import nltk

    if str(root) not in nltk.data.path:
        nltk.data.path.append(str(root))  # nltk's own data keeps precedence


def load_wordnet(source: Path | None = None) -> Any:
    """The loaded ``nltk.corpus.wordnet`` reader (laid out first if needed)."""
    ensure_wordnet(source)
    from nltk.corpus import wordnet

    with warnings.catch_warnings():  # no Open Multilingual WordNet offline: irrelevant to METEOR
        warnings.filterwarnings("ignore", message="The multilingual functions")
        wordnet.ensure_loaded()
    return wordnet
