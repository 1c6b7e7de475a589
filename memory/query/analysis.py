"""Text analysis shared by every backend: the same tokens reach SQLite FTS5 and Elasticsearch.

Words are split on anything that is not a letter or digit (``label_smoothing`` → ``label``,
``smoothing``), folded to lower case without diacritics, and Porter-stemmed. Backends
index the analysed text with a plain whitespace/unicode tokenizer, so BM25 sees identical
terms on both.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata

import snowballstemmer

from memory.query.phrases import _STOPWORDS as QUESTION_STOPWORDS

ANALYSIS_VERSION = "1"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
STOPWORDS = QUESTION_STOPWORDS  # one list: the question parser and BM25 drop the same words


_LOCAL = threading.local()


def _stemmer() -> snowballstemmer.stemmer:
    """One stemmer per thread: a snowball stemmer keeps its state in the object (the API answers
    from a thread pool, and a shared one corrupts words under load)."""
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _LOCAL.stemmer = snowballstemmer.stemmer("porter")
    return stemmer


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Porter stem of one word (memoised: a memory's vocabulary is small, its texts repeat it)."""
    return str(_stemmer().stemWord(word))


def words(text: str) -> list[str]:
    if text.isascii():  # the common case: nothing to fold (NFKD of ASCII is ASCII, without combining marks)
        return _WORD.findall(text.lower())
    folded = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).lower()
    return _WORD.findall(folded)


def analyze(text: str) -> str:
    """The indexed form of ``text``: stemmed words separated by spaces."""
    return " ".join(map(stem, words(text)))


def query_stems(text: str) -> list[str]:
    """Distinct stems of the query's words, stop words removed, in order."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word not in STOPWORDS:
            seen.setdefault(stem(word), None)
    return list(seen)
