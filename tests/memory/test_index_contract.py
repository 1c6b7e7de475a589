"""Contract suite of search indexes, parametrised over backends (Elasticsearch joins when configured)."""

from __future__ import annotations

import itertools
import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest

from memory.index import SearchDocument, SearchIndex
from memory.index.embedded import EmbeddedIndex
from memory.query import SearchQuery, evaluate, parse_where

T0 = datetime(2026, 1, 5, tzinfo=timezone.utc)


def _backends() -> list[str]:
    found = ["embedded"]
    if os.environ.get("XMEM_TEST_ELASTICSEARCH_URL"):
        found.append("elasticsearch")
    return found


@pytest.fixture(params=_backends())
def open_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], SearchIndex]]:
    """Opens the same (initially empty) index again each call, as a restarted process would."""
    opened: list[SearchIndex] = []
    if request.param == "elasticsearch":
        url, alias = request.getfixturevalue("elasticsearch_url"), request.getfixturevalue("es_alias")

    def factory() -> SearchIndex:
        if request.param == "embedded":
            index: SearchIndex = EmbeddedIndex(tmp_path / "index")
        else:
            from memory.index.elastic import ElasticsearchIndex

            index = ElasticsearchIndex(url, alias=alias)
        opened.append(index)
        return index

    yield factory
    for index in opened:
        try:
            index.close()
        except Exception:
            pass


def doc(urn: str, name: str, text: str, embedder, **fields) -> SearchDocument:  # type: ignore[no-untyped-def]
    document = SearchDocument(
        urn=urn, kind=fields.pop("kind", "run"), name=name, source="mlflow", source_id=urn.rsplit("/", 1)[-1],
        text=text, **fields,
    )
    document.vector = embedder.embed([document.text])[0]
    return document


@pytest.fixture
def corpus(embedder) -> list[SearchDocument]:  # type: ignore[no-untyped-def]
    items = [
        ("t://r1", "label-smoothing-0.1", "Tried label smoothing of the targets on the churn model; small AUC gain.",
         dict(project="churn", metrics={"val_auc": 0.82}, params={"label_smoothing": "0.1"}, person="maria")),
        ("t://r2", "focal-loss", "Focal loss with gamma 2 for the rare churners; calibration got worse.",
         dict(project="churn", metrics={"val_auc": 0.79}, params={"gamma": "2"}, person="li.wei")),
        ("t://r3", "mixup-alpha-0.2", "Mixup augmentation on product images, alpha 0.2.",
         dict(project="vision", metrics={"val_top1_acc": 0.71}, params={"alpha": "0.2"}, person="maria")),
        ("t://r4", "mixup-alpha-0.4", "Mixup augmentation on product images, alpha 0.4.",
         dict(project="vision", metrics={"val_top1_acc": 0.72}, params={"alpha": "0.4"}, person="maria")),
        ("t://r5", "oom-run", "CUDA out of memory at batch 512 on the A100 node; run crashed.",
         dict(project="vision", status="FAILED", person="sam")),
        ("t://m1", "churn-classifier v3", "Model version of the churn classifier in production.",
         dict(project="churn", kind="model_version")),
    ]
    return [
        doc(urn, name, text, embedder, time=T0 + timedelta(days=i * 10), **fields)
        for i, (urn, name, text, fields) in enumerate(items)
    ]


def test_hybrid_search_finds_paraphrases(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    assert index.count() == 6
    query = SearchQuery("has anyone smoothed the labels for churn?", limit=3)
    hits = index.search(query, embedder.embed([query.text])[0]).hits
    assert hits[0].urn == "t://r1"
    oom = SearchQuery("GPU ran out of memory", limit=1)
    assert index.search(oom, embedder.embed([oom.text])[0]).hits[0].urn == "t://r5"


def test_lexical_and_vector_retrievers_rank_best_first(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    lexical = index.lexical("focal loss gamma", None, 10)
    assert lexical[0].urn == "t://r2" and all(a.score >= b.score for a, b in itertools.pairwise(lexical))
    vector = index.vector(embedder.embed(["image augmentation that blends two pictures"])[0], None, 10)
    assert vector[0].urn in {"t://r3", "t://r4"}
    assert all(a.score >= b.score for a, b in itertools.pairwise(vector))


def test_term_frequencies_count_documents_per_analysed_term(open_index, corpus) -> None:  # type: ignore[no-untyped-def]
    from memory.query.analysis import analyze

    index = open_index()
    index.index(corpus)
    terms = [analyze("mixup"), analyze("focal"), "neverseenterm"]
    frequencies = index.term_frequencies(terms)
    assert frequencies[terms[0]] == 2 and frequencies[terms[1]] == 1  # r3 and r4 mention mixup, r2 focal loss
    assert frequencies.get("neverseenterm", 0) == 0
    assert index.term_frequencies([]) == {}


def test_concepts_rerank_and_say_how_much_each_hit_matches(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    from memory.query.terms import Concept

    index = open_index()
    index.index(corpus)
    asked = (Concept("mixup", (("mixup",),), 2.0), Concept("product", (("product",),), 1.0))
    query = SearchQuery("churn calibration with mixup on products", limit=5, group=False, concepts=asked)
    result = index.search(query, embedder.embed([query.text])[0])
    coverages = [h.coverage for h in result.hits]
    # full matches first, whatever fusion alone would have said about the churn runs
    assert {h.urn for h in result.hits[:2]} == {"t://r3", "t://r4"} and coverages[:2] == [1.0, 1.0]
    assert all(c is not None and c < 1.0 for c in coverages[2:])
    assert result.coverage == 1.0 and 0.0 < result.similarity <= 1.0


def test_sweep_runs_are_grouped(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    query = SearchQuery("mixup", limit=5)
    hits = index.search(query, embedder.embed(["mixup"])[0]).hits
    top = hits[0]
    assert top.group_size == 2 and set(top.group_members) == {"t://r3", "t://r4"}
    ungrouped = index.search(SearchQuery("mixup", limit=5, group=False), embedder.embed(["mixup"])[0]).hits
    assert {"t://r3", "t://r4"} <= {h.urn for h in ungrouped}


def test_filters_apply_to_both_retrievers(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    flt = parse_where("project = churn and metric.val_auc > 0.8")
    query = SearchQuery("augmentation loss smoothing", filter=flt, limit=10)
    assert [h.urn for h in index.search(query, embedder.embed([query.text])[0]).hits] == ["t://r1"]
    failed = SearchQuery("", filter=parse_where("status = failed"))
    assert [h.urn for h in index.search(failed, None).hits] == ["t://r5"]


def test_browse_without_text_is_newest_first(open_index, corpus) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    hits = index.search(SearchQuery("", filter=parse_where("project = vision"), group=False), None).hits
    assert [h.urn for h in hits] == ["t://r5", "t://r4", "t://r3"]


def test_update_and_delete(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    index.index([doc("t://r2", "focal-loss", "Switched to dice loss for segmentation masks.", embedder, project="churn")])
    assert index.count() == 6
    assert "t://r2" not in {r.urn for r in index.lexical("gamma calibration churners", None, 10)}
    index.delete(["t://r1", "t://unknown"])
    assert index.count() == 5
    assert "t://r1" not in {r.urn for r in index.lexical("label smoothing", None, 10)}
    assert "t://r1" not in {r.urn for r in index.vector(corpus[0].vector, None, 10)}


def test_vectors_survive_reopen_and_crash(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    first = open_index()
    first.index(corpus[:3])
    first.flush()
    first.index(corpus[3:])  # not flushed: as if the process died here
    first.delete(["t://r2"])
    reopened = open_index()
    urns = {r.urn for r in reopened.vector(corpus[4].vector, None, 10)}
    assert urns == {"t://r1", "t://r3", "t://r4", "t://r5", "t://m1"}


def test_filtered_vector_search_is_exact(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    flt = parse_where("person = maria")
    ranked = index.vector(embedder.embed(["churn"])[0], flt, 10)
    assert {r.urn for r in ranked} == {"t://r1", "t://r3", "t://r4"}


def test_vector_table_is_the_filtered_documents_in_time_order(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    """Every matching document's unit vector in time order, ranking like ``vector`` (the digest's repeat search)."""
    index = open_index()
    index.index(corpus)
    table = index.vector_table(parse_where("person = maria"))
    assert table is not None
    assert set(table.urns) == {"t://r1", "t://r3", "t://r4"} and list(table.times) == sorted(table.times)
    assert np.allclose(np.linalg.norm(table.matrix, axis=1), 1.0, atol=1e-4)
    query = embedder.embed(["churn"])[0]
    by_table = [table.urns[i] for i in np.argsort(-(table.matrix @ (query / np.linalg.norm(query))))]
    assert by_table == [r.urn for r in index.vector(query, parse_where("person = maria"), 10)]


FIELDS = [
    "metric.val_auc > 0.8", "metric.val_auc <= 0.8", "param.alpha >= 0.3", "param.alpha = 0.2", "param.gamma ~ 2",
    "project = churn", "project != vision", "person in (maria, sam)", "status = FAILED", "kind = model_version",
    "time > 2026-02-01", "time <= 2026-01-20", "name ~ mixup", "metric.val_top1_acc < 0.715", "tag.missing = x",
]


def test_backend_filters_agree_with_the_reference_evaluator(open_index, corpus) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    index.index(corpus)
    rng = random.Random(11)
    expressions = list(FIELDS)
    for _ in range(60):
        a, b = rng.sample(FIELDS, 2)
        joiner = rng.choice([" and ", " or "])
        expressions.append(("not " if rng.random() < 0.3 else "") + f"({a}){joiner}({b})")
    views = {d.urn: d.filter_view() for d in corpus}
    from memory.query import FieldRef, Missing, Or

    parsed = [parse_where(source) for source in expressions]
    parsed += [Missing(FieldRef("attr", "status")), Missing(FieldRef("param", "alpha")), Missing(FieldRef("metric", "val_auc")),
               Or((Missing(FieldRef("attr", "person")), parse_where("project = churn")))]
    for flt in parsed:
        source = str(flt)
        expected = {urn for urn, view in views.items() if evaluate(flt, view) is True}
        got = {r.urn for r in index.browse(flt, 100)}
        assert got == expected, source


# -- the vector backlog: documents searchable by BM25 at once, their vectors filled in later
MODEL = "test-model"


def _without_vectors(corpus: list[SearchDocument]) -> list[SearchDocument]:
    from dataclasses import replace

    return [replace(d, vector=None, vector_model=None, semantic=f"semantic {d.text}") for d in corpus]


def test_documents_without_vectors_are_searchable_by_bm25_and_wait_in_the_backlog(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    bare = _without_vectors(corpus)
    index.index(bare)
    assert index.vector_backlog(MODEL) == len(corpus)
    assert index.vector(embedder.embed(["mixup"])[0], None, 10) == []
    assert index.lexical("mixup", None, 10)[0].urn == "t://r3"
    query = SearchQuery("mixup augmentation", limit=3)
    assert index.search(query, embedder.embed([query.text])[0]).hits[0].urn == "t://r3"  # hybrid, BM25 only so far
    pending = index.pending_vectors(MODEL, 100)
    assert sorted(pending) == sorted((d.urn, d.semantic) for d in bare)
    half = pending[:3]
    stored = index.set_vectors(MODEL, [(urn, text, embedder.embed([text])[0]) for urn, text in half])
    assert stored == 3
    assert index.vector_backlog(MODEL) == len(corpus) - 3
    assert {urn for urn, _ in index.pending_vectors(MODEL, 100)} == {d.urn for d in bare} - {u for u, _ in half}
    found = {r.urn for r in index.vector(embedder.embed(["anything"])[0], None, 10)}
    assert found == {u for u, _ in half}  # only documents with a vector are vector candidates
    rest = index.pending_vectors(MODEL, 100)
    index.set_vectors(MODEL, [(urn, text, embedder.embed([text])[0]) for urn, text in rest])
    assert index.vector_backlog(MODEL) == 0 and index.pending_vectors(MODEL, 10) == []
    docs = index.get_documents([bare[0].urn], with_vectors=True)
    assert docs[bare[0].urn].vector_model == MODEL and docs[bare[0].urn].semantic == bare[0].semantic


def test_reindexing_keeps_a_vector_while_its_text_is_unchanged(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    index = open_index()
    bare = _without_vectors(corpus)
    index.index(bare)
    index.set_vectors(MODEL, [(d.urn, d.semantic, embedder.embed([d.semantic])[0]) for d in bare])
    # the same documents again (a re-ingest: metrics or prose changed, the embedded text did not)
    index.index([replace(d, text=d.text + " again") for d in bare])
    assert index.vector_backlog(MODEL) == 0
    # one embedded text changed: that document loses its vector and is pending with the new text
    changed = replace(bare[0], semantic="semantic focal loss on a new dataset")
    index.index([changed])
    assert index.pending_vectors(MODEL, 10) == [(changed.urn, changed.semantic)]
    assert changed.urn not in {r.urn for r in index.vector(embedder.embed([bare[0].semantic])[0], None, 20)}
    # a vector computed for the old text arrives late: it is refused
    assert index.set_vectors(MODEL, [(changed.urn, bare[0].semantic, embedder.embed([bare[0].semantic])[0])]) == 0
    assert index.vector_backlog(MODEL) == 1
    reopened = open_index()  # the backlog is durable
    assert reopened.pending_vectors(MODEL, 10) == [(changed.urn, changed.semantic)]


def test_a_new_model_puts_every_document_back_in_the_backlog_and_old_vectors_keep_serving(open_index, corpus, embedder) -> None:  # type: ignore[no-untyped-def]
    index = open_index()
    bare = _without_vectors(corpus)
    index.index(bare)
    index.set_vectors("old-model", [(d.urn, d.semantic, embedder.embed([d.semantic])[0]) for d in bare])
    assert index.vector_backlog("old-model") == 0
    assert index.vector_backlog(MODEL) == len(corpus)
    assert len(index.vector(embedder.embed(["churn"])[0], None, 10)) == len(corpus)  # still served meanwhile
    urn, text = index.pending_vectors(MODEL, 1)[0]
    index.set_vectors(MODEL, [(urn, text, embedder.embed([text])[0])])
    assert index.vector_backlog(MODEL) == len(corpus) - 1
