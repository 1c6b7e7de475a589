"""The demo organization: deterministic, realistic in shape, and `xmem demo` works end to end."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from memory.cli.main import app
from memory.demo.mlflow_server import free_port
from memory.demo.org import generate_organization


def test_same_seed_same_organization_and_scale_multiplies_runs() -> None:
    first, again = generate_organization(seed=7), generate_organization(seed=7)
    assert first == again
    assert generate_organization(seed=8) != first
    assert 350 <= first.run_count <= 450
    assert 3.5 <= generate_organization(seed=7, scale=4.0).run_count / first.run_count <= 4.5


def test_organization_looks_like_a_real_one() -> None:
    org = generate_organization(seed=7)
    runs = [run for project in org.projects for run in project.runs]
    statuses = Counter(run.status for run in runs)
    assert 0.02 <= statuses["FAILED"] / len(runs) <= 0.1 and statuses["KILLED"] >= 1
    assert len({run.person for run in runs}) >= 10
    for project in org.projects:
        assert sum(run.tags.get("baseline") == "true" for run in project.runs) >= 1, project.name
        children = [run for run in project.runs if run.parent_key]
        assert children and {run.parent_key for run in children} <= {run.key for run in project.runs}
        assert [run.start for run in project.runs] == sorted(run.start for run in project.runs)
    assert all(any("champion" in v.aliases for v in model.versions) for model in org.models)
    notes = {run.note for run in runs}
    assert len(notes) > 0.6 * len(runs)  # researchers do not write the same note twice


def test_xmem_demo_builds_a_searchable_memory(tmp_path: Path) -> None:
    runner = CliRunner()
    home = tmp_path / "home"
    port = free_port()
    result = runner.invoke(app, ["--home", str(home), "demo", "--port", str(port), "--scale", "0.15"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Built a DVC repository (4 pipeline commits, 2 experiments), a Delta table (7 versions) and a Feast repository" in said, said
    assert "Logged 8 experiments" in result.output and "Try:" in result.output
    org = generate_organization(seed=7, scale=0.15)
    sweep = next(run for project in org.projects for run in project.runs if run.name.startswith("sweep: "))
    idea = sweep.name.removeprefix("sweep: ")
    query = ["--home", str(home), "search", f"has anyone tried {idea}?", "--json", "--kind", "run"]
    hits = json.loads(runner.invoke(app, query).stdout)["hits"]
    titles = {h["urn"]: h["title"] for h in json.loads(runner.invoke(app, [*query, "--no-group", "-n", "50"]).stdout)["hits"]}
    # the sweep (parent and trials) is one of the first answers, folded into one row
    assert any(sweep.name in {titles.get(m) for m in h["group_members"]} and h["group_size"] > 1 for h in hits[:3]), (
        idea, [(h["title"], h["group_size"]) for h in hits]
    )
    stats = json.loads(runner.invoke(app, ["--home", str(home), "stats", "--json"]).stdout)
    kinds = {n["kind"] for n in stats["nodes"]}
    assert {"run", "model", "model_version", "dataset_version", "code_version", "person", "project"} <= kinds

    # cross-system lineage: MLflow model version → run → the DVC data version (one node, known to both)
    # → the DVC stage that wrote it → the git commit
    version = f"mlflow://127.0.0.1:{port}/models/churn-pipeline-model/versions/4"
    lineage = json.loads(runner.invoke(app, ["--home", str(home), "lineage", version, "--up", "--depth", "8", "--json"]).stdout)
    nodes = {n["urn"]: n for n in lineage["nodes"]}
    features = [n for n in nodes.values() if n["kind"] == "dataset_version" and n["urn"].endswith(
        "churn-pipeline/data/features.csv@" + n["properties"].get("digest", "-"))]
    assert len(features) == 1 and features[0]["source"]["system"] == "mlflow"
    assert features[0]["properties"]["also_known_as"]["dvc"]["properties"]["md5"] == features[0]["properties"]["digest"]
    writers = {e["src"] for e in lineage["edges"] if e["kind"] == "wrote" and e["dst"] == features[0]["urn"]}
    assert any("/stages/prepare@" in w for w in writers), writers
    commits = {e["dst"] for e in lineage["edges"] if e["kind"] == "ran_code" and e["src"] in writers}
    assert len(commits) == 1 and next(iter(commits)).startswith("git://commit/")
    # Delta versions read by MLflow runs are the Delta ingestor's version nodes
    table = json.loads(runner.invoke(app, ["--home", str(home), "search", "customer_activity", "--kind", "dataset_version",
                                           "--json", "-n", "20", "--no-group"]).stdout)["hits"]
    shared = [h for h in table if h["urn"].endswith("customer_activity@6")]
    assert shared, [h["urn"] for h in table]
    shown = json.loads(runner.invoke(app, ["--home", str(home), "show", shared[0]["urn"], "--json"]).stdout)
    props = shown["node"]["properties"]
    assert props["schema_change"]["type_changed"] == {"spend": ["double", "string"]}
    assert {"delta", "mlflow"} == {shown["node"]["source"]["system"], *props["also_known_as"]}
    # the training run used the Feast feature service it was tagged with; its views read the repo's parquet file
    run = next(e["src"] for e in lineage["edges"] if e["kind"] == "produced" and e["dst"] == version)
    used = {e["dst"] for e in lineage["edges"] if e["kind"] == "used_features" and e["src"] == run}
    assert used == {"feast://acme_churn/feature_services/churn_model_v2"}
    assert {"feast://acme_churn/feature_views/customer_profile", "feast://acme_churn/feature_views/customer_tenure"} <= set(nodes)
    assert any(u.endswith("feature_repo/data/customer_features.parquet") and n["kind"] == "dataset" for u, n in nodes.items())
