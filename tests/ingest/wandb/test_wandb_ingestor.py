"""The W&B ingestor over run files written by the real ``wandb`` client in offline mode."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ingest.base import IngestReport
from ingest.wandb import WandbConfig, WandbIngestor
from ingest.wandb.ingestor import decode_run_file
from ingest.wandb.mapping import RunData, fold, run_records
from ingest.wandb.reader import BLOCK_LEN, FIRST, LAST, MIDDLE, CorruptRunFile, ReadResult, iter_records
from memory.cli.main import app
from memory.entities import EdgeKind, SourceState, identity
from memory.errors import NotFound
from memory.service import MemoryService
from tests.ingest.wandb.builders import BIG_NOTE, churn_runs, write_runs

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "wandb_records.json"


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three runs of project growth/churn written once by the real client (read-only for the tests)."""
    root = tmp_path_factory.mktemp("wandb-churn")
    files = write_runs(root, churn_runs(root))
    assert sorted(f.name for f in files) == ["run-base0001.wandb", "run-oom00001.wandb", "run-smooth01.wandb"]
    return root


@pytest.fixture
def runs(runs_root: Path, tmp_path: Path) -> Path:
    """A private copy a test may change."""
    copy = tmp_path / "runs"
    shutil.copytree(runs_root, copy, symlinks=True)
    return copy


def run_file(root: Path, run_id: str) -> Path:
    return next(root.glob(f"wandb/offline-run-*-{run_id}/run-{run_id}.wandb"))


def ingest(service: MemoryService, *paths: Path) -> IngestReport:
    config = {"paths": tuple(str(p) for p in paths), "checkpoint_every": 2}
    return service.ingest(service.make_ingestor("wandb", config, IngestReport()))


RUN = "wandb://growth/churn/runs/{}"


# -- the reader ---------------------------------------------------------------------------------


def test_reader_reassembles_records_split_across_blocks(runs_root: Path) -> None:
    """The run record of smooth01 carries a 90 KB config value: FIRST, MIDDLE…, LAST fragments."""
    from wandb.proto.wandb_internal_pb2 import Record

    path = run_file(runs_root, "smooth01")
    raw = path.read_bytes()
    assert len(raw) > 2 * BLOCK_LEN
    fragment_types = set()
    pos = 7
    while pos + 7 <= len(raw):  # walk the framing once more to see which fragment types the client wrote
        if BLOCK_LEN - pos % BLOCK_LEN < 7:
            pos += BLOCK_LEN - pos % BLOCK_LEN
            continue
        length, kind = int.from_bytes(raw[pos + 4:pos + 6], "little"), raw[pos + 6]
        fragment_types.add(kind)
        pos += 7 + length
    assert {FIRST, MIDDLE, LAST} <= fragment_types

    result = ReadResult()
    kinds = []
    for _, payload in iter_records(path, result=result):
        record = Record()
        record.ParseFromString(payload)
        kinds.append(record.WhichOneof("record_type"))
        if kinds[-1] == "run":
            config = {item.key: json.loads(item.value_json) for item in record.run.config.update}
            assert config["big_note"] == BIG_NOTE
    assert kinds[0] == "header" and kinds[1] == "run" and kinds.count("history") == 3 and kinds.count("artifact") == 3
    assert kinds[-1] == "exit" and result.records == len(kinds) and result.truncated_at is None


def test_checksum_is_wandbs_plain_crc32(runs_root: Path) -> None:
    import zlib

    raw = run_file(runs_root, "base0001").read_bytes()
    assert raw[:7] == b":W&B\xe1\xbe\x00"
    checksum, length, kind = int.from_bytes(raw[7:11], "little"), int.from_bytes(raw[11:13], "little"), raw[13]
    assert checksum == zlib.crc32(bytes([kind]) + raw[14:14 + length])


# -- golden records -------------------------------------------------------------------------------


def normalise(records: list[dict[str, Any]], root: Path) -> Any:
    text = json.dumps(records, sort_keys=True)
    text = text.replace(str(root.resolve()), "<root>").replace(str(root), "<root>")
    text = re.sub(r'"fingerprint": "[^"]*"', '"fingerprint": "<fp>"', text)
    text = re.sub(r"offline-run-\d{8}_\d{6}-", "offline-run-<when>-", text)
    text = re.sub(r'"(host|wandb_version)": "[^"]*"', r'"\1": "<\1>"', text)
    text = re.sub(r'"duration_seconds": [0-9.]+', '"duration_seconds": "<duration>"', text)
    text = re.sub(r'"\d{4}-\d\d-\d\dT[^"]*"', '"<time>"', text)
    return json.loads(text)


def test_records_match_golden(runs_root: Path, update_golden: bool) -> None:
    report = IngestReport()
    ingestor = WandbIngestor(WandbConfig(paths=(str(runs_root),)), report)
    ingestor.check()
    records = [r.model_dump(mode="json") | {"type": type(r).__name__}
               for r in ingestor.records(SourceState(source_key=ingestor.source_key))]
    got = normalise(records, runs_root)
    if update_golden or not GOLDEN.exists():
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        if not update_golden:
            pytest.fail(f"golden file {GOLDEN} was missing and has been written; check it and re-run")
    assert got == json.loads(GOLDEN.read_text())
    assert report.read == 3 and report.warning_count == 0


# -- mapping through the service -----------------------------------------------------------------


def test_runs_params_metrics_status_and_artifacts(service: MemoryService, runs_root: Path) -> None:
    report = ingest(service, runs_root)
    assert report.read == 3 and report.rejected == 0 and report.new > 0

    smooth = service.show(RUN.format("smooth01"))
    props = smooth.node.properties
    assert smooth.node.name == "label-smoothing" and smooth.node.project == "churn"
    assert smooth.node.description == "Smoothed noisy churn labels; beats the baseline."
    assert props["params"]["model.depth"] == "6" and props["params"]["label_smoothing"] == "0.1"
    assert props["metrics"]["val_auc"] == pytest.approx(0.82) and props["metrics"]["best_val_auc"] == pytest.approx(0.83)
    assert props["metrics_best"]["val_auc"] == {"value": pytest.approx(0.83), "step": 1}
    assert props["metrics_best"]["val_loss"] == {"value": pytest.approx(0.44), "step": 1}
    assert props["status"] == "FINISHED" and props["person"] == "li.wei"
    assert props["outcome"]["verdict"] == "better" and props["outcome"]["baseline_run_id"] == "base0001"
    assert service.show(RUN.format("oom00001")).node.properties["status"] == "FAILED"
    assert service.show(RUN.format("base0001")).node.properties["outcome"]["verdict"] == "baseline"

    neighbours = {(e.kind.value, n.kind.value, n.urn) for e, n in smooth.neighbours}
    model = {n for k, kind, n in neighbours if k == "produced"}
    assert len(model) == 1 and service.show(model.pop()).node.kind.value == "model_version"
    wrote = {n for k, _, n in neighbours if k == "wrote"}
    data_dir = (runs_root / "data").resolve()
    md5 = hashlib.md5((data_dir / "train.csv").read_bytes()).hexdigest()
    # the reference lands on the node every other source uses for that file, keyed by its md5 (as DVC writes it)
    assert identity.dataset_version_urn(str(data_dir / "train.csv"), md5) in wrote
    assert any(u.startswith("dataset://wandb-artifact://growth/churn/churn-train@") for u in wrote)
    assert ("in_project", "project", "wandb://growth/churn") in neighbours
    assert ("by", "person", "person://li.wei") in neighbours

    hits = service.search(service.build_query("smoothed noisy labels", kinds=["run"])).hits
    assert hits[0].urn == RUN.format("smooth01") and hits[0].source == "wandb"
    lineage = service.lineage(next(u for _, kind, u in neighbours if kind == "model_version"), direction="up", depth=2)
    assert RUN.format("smooth01") in lineage.nodes


def test_second_ingest_writes_nothing_and_new_runs_are_added(service: MemoryService, runs: Path) -> None:
    first = ingest(service, runs)
    before = service.store.dump()
    second = ingest(service, runs)
    assert second.nothing_changed and second.skipped_unchanged == 3 and second.embedded == 0
    assert service.store.dump()["nodes"] == before["nodes"]
    write_runs(runs, [{"id": "mixup001", "name": "mixup", "entity": "growth", "project": "churn", "config": {"lr": 0.05},
                       "tags": [], "notes": "Tabular mixup.", "history": [{"val_auc": 0.77, "val_loss": 0.55}]}])
    third = ingest(service, runs)
    assert third.read == 4 and third.new == 1 and third.skipped_unchanged == 3 and first.read == 3


def test_vanished_run_becomes_tombstone(service: MemoryService, runs: Path) -> None:
    ingest(service, runs)
    shutil.rmtree(run_file(runs, "oom00001").parent)
    report = ingest(service, runs)
    assert report.deleted == 1
    with pytest.raises(NotFound):
        service.show(RUN.format("oom00001"))


def test_feature_service_in_config_links_the_run_to_feast(service: MemoryService, runs_root: Path) -> None:
    ingest(service, runs_root)
    edges = [e for e in service.store.dump()["edges"] if e["src"] == RUN.format("smooth01") and e["kind"] == "used_features"]
    assert sorted(e["dst"] for e in edges) == [
        "feast://churn_features/feature_services/churn_v1", "feast://churn_features/feature_views/customer_stats"]


# -- bad input ------------------------------------------------------------------------------------


def test_corrupt_run_file_is_named_with_offset_and_the_rest_is_ingested(service: MemoryService, runs: Path) -> None:
    bad = run_file(runs, "smooth01")
    raw = bytearray(bad.read_bytes())
    raw[40_000] ^= 0xFF  # inside the second block
    bad.write_bytes(bytes(raw))
    before = service.store.dump()
    report = ingest(service, runs)
    assert report.rejected == 1 and report.read == 2
    context = report.warnings["unreadable run file skipped"].context[0]
    assert str(bad) in context and re.search(r"offset \d+: checksum mismatch", context)
    offset = int(re.search(r"offset (\d+)", context).group(1))
    assert offset <= 40_000 < offset + BLOCK_LEN
    urns = {n["urn"] for n in service.store.dump()["nodes"]} - {n["urn"] for n in before["nodes"]}
    assert RUN.format("base0001") in urns and RUN.format("oom00001") in urns
    assert not any("smooth01" in u or "churn-train" in u or "churn-model" in u for u in urns)  # nothing half-written


def test_not_a_run_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "run-junk.wandb"
    path.write_bytes(b"PK\x03\x04 not a wandb file at all")
    with pytest.raises(CorruptRunFile, match=r"run-junk.wandb: offset 0: not a W&B run file"):
        decode_run_file(path)


def test_truncated_last_block_yields_complete_records_and_a_warning(service: MemoryService, runs: Path) -> None:
    path = run_file(runs, "base0001")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 20])  # the exit record was being written
    report = ingest(service, runs)
    assert report.rejected == 0 and report.read == 3
    warning = report.warnings["run file still being written"]
    assert str(path) in warning.context[0] and "byte(s) left out" in warning.context[0]
    node = service.show(RUN.format("base0001")).node
    assert node.properties["status"] == "RUNNING" and node.properties["metrics_best"]["val_auc"]["value"] == 0.8


def test_missing_path_and_empty_folder_are_named(service: MemoryService, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file or folder"):
        ingest(service, tmp_path / "nope")
    with pytest.raises(NotFound, match=r"no W&B run files .*wandb.init\(mode='offline'"):
        ingest(service, tmp_path)


def test_cli_exits_non_zero_on_an_unreadable_run(runs: Path, tmp_path: Path) -> None:
    bad = run_file(runs, "oom00001")
    bad.write_bytes(bad.read_bytes()[:7] + b"\x00\x00\x00\x00\x07\x00\x01" + b"garbage")
    result = CliRunner().invoke(app, ["--home", str(tmp_path / "home"), "ingest", "wandb", str(runs)])
    assert result.exit_code == 1
    assert "1 unreadable run file(s) skipped" in result.output and "run-oom00001.wandb: offset 7" in result.output


# -- what the offline client cannot write ----------------------------------------------------------


def test_use_artifact_record_becomes_a_used_edge() -> None:
    """``run.use_artifact`` raises in offline mode, so no offline file has this record; an online
    run's file does. The record here is built with the client's own protobuf class."""
    from wandb.proto.wandb_internal_pb2 import Record

    run, use = Record(), Record()
    run.run.run_id, run.run.entity, run.run.project = "online01", "growth", "churn"
    use.use_artifact.id, use.use_artifact.type, use.use_artifact.name = "QXJ0aWZhY3Q6MQ==", "dataset", "churn-train:v3"
    data: RunData = fold("run-online01.wandb", [run, use])
    records = run_records(data, "local", {}, lambda *a: None)
    used = [r for r in records if getattr(r, "kind", None) == EdgeKind.used]
    assert [(u.dst, u.properties) for u in used] == [
        ("dataset://wandb-artifact://growth/churn/churn-train", {"artifact_id": "QXJ0aWZhY3Q6MQ==", "version": "v3"})]
