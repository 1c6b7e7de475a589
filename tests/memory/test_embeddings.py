"""The encoders: ONNX Runtime (fp32 and int8) against sentence-transformers on the same packaged model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from memory.embeddings import CachedEmbedder, EmbeddingCache, SentenceTransformerEmbedder, make_embedder
from memory.embeddings.export import exported_model
from memory.embeddings.onnx import OnnxEmbedder
from memory.index.documents import normalise_for_embedding
from memory.settings import Settings

TEXTS = [
    "Experiment run: autosklearn fabert fold #. Status failed. Child of run autosklearn on fabert (small-2c1h).",
    "Tried label smoothing of the targets on the churn model; small AUC gain.",
    "vit_base_patch16_224.augreg_in21k_ft_in1k on imagenet_r",
    "Error: H2O could not produce any model in the requested time.",
    "mixup",
    "Pipeline run: nightly_features. Failed with error: java.lang.OutOfMemoryError: GC overhead limit exceeded",
]


@pytest.fixture(scope="module")
def torch_model() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder()


def _onnx(precision: str) -> OnnxEmbedder:
    embedder = make_embedder(Settings(embedding_backend="onnx-int8" if precision == "int8" else "onnx"))
    assert isinstance(embedder, OnnxEmbedder)
    return embedder


def test_onnx_fp32_gives_the_vectors_of_sentence_transformers(torch_model: SentenceTransformerEmbedder) -> None:
    expected = torch_model.embed(TEXTS)
    found = _onnx("fp32").embed(TEXTS)
    assert found.shape == expected.shape == (len(TEXTS), 384) and found.dtype == np.float32
    assert np.min(np.sum(found * expected, axis=1)) > 0.9999
    assert _onnx("fp32").name == torch_model.name == "all-MiniLM-L6-v2"  # same vectors, same cache entries


def test_onnx_int8_is_close_to_torch_and_ranks_alike(torch_model: SentenceTransformerEmbedder) -> None:
    expected = torch_model.embed(TEXTS)
    int8 = _onnx("int8")
    found = int8.embed(TEXTS)
    assert int8.name == "all-MiniLM-L6-v2+int8"  # other vectors: cached and recorded under another name
    cosines = np.sum(found * expected, axis=1)
    assert cosines.min() > 0.97 and cosines.mean() > 0.985, cosines
    assert np.allclose(np.linalg.norm(found, axis=1), 1.0, atol=1e-5)
    query = "the model ran out of memory"
    order = lambda vectors, q: list(np.argsort(-(vectors @ q)))  # noqa: E731
    assert order(found, int8.embed([query])[0])[:2] == order(expected, torch_model.embed([query])[0])[:2]


def test_an_int8_vector_does_not_depend_on_the_other_texts_of_its_call() -> None:
    """Dynamic quantisation scales activations per call: each text is run alone, so a document's vector
    is the vector the same text gets as a query."""
    int8 = _onnx("int8")
    alone = np.stack([int8.embed([t])[0] for t in TEXTS])
    together = int8.embed(TEXTS * 3)[: len(TEXTS)]
    assert np.array_equal(alone, together)


def test_the_export_is_built_once_offline_and_reused(tmp_path: Path) -> None:
    source = Path(_onnx("int8").source)
    cache = tmp_path / "models"
    first = exported_model(source, cache)
    assert first.manifest["cosine_vs_torch"]["fp32"] >= 0.9999 and first.manifest["cosine_vs_torch"]["int8"] > 0.97
    assert first.path("int8").exists() and first.path("fp32").exists()
    stamp = first.path("int8").stat().st_mtime_ns
    again = exported_model(source, cache)
    assert again.folder == first.folder and again.path("int8").stat().st_mtime_ns == stamp
    assert sorted(p.name for p in cache.iterdir() if p.is_dir()) == [first.folder.name]  # no half-built folders


def test_an_export_that_cannot_run_says_what_to_do(tmp_path: Path) -> None:
    from memory.errors import InvalidConfig

    broken = tmp_path / "not-a-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")
    (broken / "tokenizer.json").write_text("{}")
    with pytest.raises(InvalidConfig, match="exporting .* to ONNX failed.*XMEM_EMBEDDING_BACKEND=torch"):
        exported_model(broken, tmp_path / "models")


@pytest.mark.parametrize("first", ["usearch.index", "onnxruntime"])
def test_onnx_runtime_and_usearch_load_in_either_order(first: str) -> None:
    """ONNX Runtime 1.23+ crashed (SIGSEGV) when loaded after usearch; the pin and the index module's
    import order keep every order working."""
    other = "onnxruntime" if first == "usearch.index" else "usearch.index"
    code = f"import {first}; import {other}; import memory.index.embedded; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", (done.returncode, done.stderr[-500:])


def test_the_cache_embeds_each_distinct_text_once(tmp_path: Path) -> None:
    embedder = CachedEmbedder(_onnx("int8"), EmbeddingCache(tmp_path / "e.sqlite"))
    vectors = embedder.embed(TEXTS + TEXTS[:2])
    assert embedder.computed == len(TEXTS)
    assert np.array_equal(vectors[0], vectors[len(TEXTS)])
    assert set(embedder.known(TEXTS[:3] + ["never embedded"])) == set(TEXTS[:3])
    embedder.embed(TEXTS)
    assert embedder.computed == len(TEXTS)


def test_numbers_and_ids_are_left_out_of_the_embedded_text_but_names_keep_theirs() -> None:
    cases = {
        "autosklearn fabert fold 3": "autosklearn fabert fold #",
        "Error: Expecting ':' delimiter: line 1 column 77098 (char 77097)": "Error: Expecting ':' delimiter: line # column # (char #)",
        "Aborting instance i-0f2a3b4c5d6e7f809 for job aws_medium-8c1h_KDDCup09_appetency_5_TPOT.":
            "Aborting instance i-# for job aws_medium-8c1h_KDDCup09_appetency_5_TPOT.",
        "vit_base_patch16_224.augreg_in21k_ft_in1k on imagenet_r": "vit_base_patch16_224.augreg_in21k_ft_in1k on imagenet_r",
        "lr=0.01 bs=64 seed 42, 2019-02-20T23:51:14": "lr=# bs=# seed #, #",
        "ResNet-50 on ImageNet, 3.5e-4 lr": "ResNet-50 on ImageNet, # lr",
        "run 3f2b9c1d-8e7a-4b5c-9d3e-2f1a0b9c8d7e": "run #",
    }
    for raw, expected in cases.items():
        assert normalise_for_embedding(raw) == expected


def test_the_torch_backend_is_still_selectable() -> None:
    assert isinstance(make_embedder(Settings(embedding_backend="torch")), SentenceTransformerEmbedder)
