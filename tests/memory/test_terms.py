"""Concepts of a question: spellings learned from the memory's own names, weights, coverage."""

from __future__ import annotations

from memory.query.analysis import analyze
from memory.query.terms import TermIndex, concepts, coverage, segments

NAMES = ["H2OAutoML", "autosklearn", "AutoWEKA", "TPOT", "oboe", "KDDCup09_appetency", "Fashion-MNIST",
         "vit_base_patch16_224.augreg_in21k_ft_in1k", "resnet50", "learning_rate"]
INDEX = TermIndex(NAMES, categories=["H2OAutoML", "autosklearn", "AutoWEKA", "TPOT", "oboe"])
#: document frequencies of an imaginary memory of 1,000 documents: every token of the names
#: occurs, plus a few ordinary words that happen to occur in some text
DF = {**{t: 20 for t in INDEX.tokens}, "time": 300, "run": 900, "evalu": 3, "mnist": 20, "fashion": 20}


def frequencies(stems: list[str]) -> dict[str, int]:
    return {s: DF[s] for s in stems if s in DF}


def concept_map(text: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    return {c.label: c.alternatives for c in concepts(text, INDEX, frequencies, 1000)}


def test_case_segments_of_names() -> None:
    assert segments("H2OAutoML") == ["h2o", "auto", "ml"]
    assert segments("KDDCup09") == ["kdd", "cup09"]
    assert segments("AutoWEKA") == ["auto", "weka"]


def test_a_segment_of_one_name_stands_for_it() -> None:
    found = concept_map("has anyone run h2o on the weka thing")
    assert ("h2oautoml",) in found["h2o"] and ("autoweka",) in found["weka"]
    # a segment of a few names stands for each of them (of more than MAX_SEGMENT_VALUES: for none)
    assert set(concept_map("auto")["auto"]) == {("auto",), ("autoweka",), ("h2oautoml",)}
    crowded = TermIndex([f"Net{i}Large" for i in range(5)])
    assert "large" not in crowded.segment_owners


def test_adjacent_words_that_spell_a_name_are_one_concept() -> None:
    found = concept_map("auto sklearn on kdd cup 09 appetency")
    assert found["auto sklearn"][0] == ("autosklearn",)
    assert found["kdd cup 09"][0] == ("kddcup09",)
    assert found["appetency"] == ((analyze("appetency"),),)


def test_field_abbreviations_are_equivalent_and_letters_never_match_documents() -> None:
    found = concept_map("vit-b pretrained on imagenet-21k")
    assert ("in21k",) in found["imagenet 21k"] and ("in22k",) in found["imagenet 21k"]
    assert found["b"] == (("base",),)  # ViT-B: "b" is understood, never looked for
    assert concept_map("which small models")["small"] == (("small",),)  # and "small" does not look for "s"


def test_contractions_do_not_leave_stray_letters() -> None:
    assert "t" not in concept_map("runs that couldn't finish")


def test_unknown_names_weigh_fully_and_ordinary_words_less() -> None:
    by_label = {c.label: c for c in concepts("autogluon on adult", INDEX, frequencies, 1000)}
    assert not by_label["autogluon"].known and not by_label["adult"].known
    assert by_label["autogluon"].weight > by_label["adult"].weight  # a name nobody wrote vs an ordinary word
    # an English word that is a framework's name in this memory counts as a name
    oboe = {c.label: c for c in concepts("oboe on adult", INDEX, frequencies, 1000)}
    assert oboe["oboe"].weight > oboe["adult"].weight
    # question scaffolding is no concept at all
    assert set(concept_map("has anyone evaluated or benchmarked tpot")) == {"tpot"}


def test_coverage_weighs_what_a_document_matches() -> None:
    asked = concepts("h2o on fashion mnist", INDEX, frequencies, 1000)
    assert coverage(asked, set(analyze("H2OAutoML on Fashion-MNIST fold 3").split())) == 1.0
    partial = coverage(asked, set(analyze("TPOT on Fashion-MNIST").split()))
    assert 0.0 < partial < 1.0
    assert coverage(asked, set(analyze("oboe on adult").split())) == 0.0
    assert coverage([], set()) == 1.0


def test_stemming_is_safe_from_many_threads() -> None:
    """The API stems in a thread pool; a shared snowball stemmer once raised IndexError under load."""
    from concurrent.futures import ThreadPoolExecutor

    from memory.query import analysis

    vocabulary = [f"{root}{suffix}{i}" for i in range(400) for root in ("running", "generalization", "optimizing")
                  for suffix in ("s", "ness", "ations")]
    expected = {w: analysis.snowballstemmer.stemmer("porter").stemWord(w) for w in vocabulary}
    analysis.stem.cache_clear()
    with ThreadPoolExecutor(8) as pool:
        got = dict(zip(vocabulary, pool.map(analysis.stem, vocabulary)))
    assert got == expected
