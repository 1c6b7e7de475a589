"""`xmem digest` and `xmem similar` on the demo memory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from memory.cli.main import app

runner = CliRunner()


def xmem(home: Path, *args: str, input: str | None = None) -> Any:
    return runner.invoke(app, ["--home", str(home), *args], input=input)


def test_digest_command_formats_and_file(demo_memory: dict[str, Any], tmp_path: Path) -> None:
    home = demo_memory["home"]
    out = tmp_path / "digests" / "w20.json"
    result = xmem(home, "digest", "--week", "2026-W20", "--format", "json", "--out", str(out))
    assert result.exit_code == 0, result.output
    digest = json.loads(out.read_text())
    assert digest["title"].startswith("Learning digest 2026-W20") and digest["totals"]["runs"] > 0
    markdown = xmem(home, "digest", "--week", "2026-W20", "--project", "credit-scoring")
    assert markdown.exit_code == 0 and "## credit-scoring" in markdown.stdout and "## churn-prediction" not in markdown.stdout
    same = xmem(home, "digest", "--since", "2026-05-11", "--until", "2026-05-18", "-f", "json")
    assert json.loads(same.stdout)["totals"] == digest["totals"]


def test_digest_command_rejects_bad_input_clearly(demo_memory: dict[str, Any]) -> None:
    home = demo_memory["home"]
    for args, message in [
        (["--week", "47"], "is not an ISO week"),
        (["--week", "2026-W20", "--since", "2026-05-01"], "either --week or --since/--until"),
        (["--until", "2026-05-01"], "--until needs --since"),
        (["--every", "someday-9"], "is not a weekly schedule"),
        (["--since", "2026-05-18", "--until", "2026-05-11"], "the period is empty"),
    ]:
        result = xmem(home, "digest", *args)
        assert result.exit_code == 1 and message in result.output, (args, result.output)
    assert xmem(home, "digest", "--format", "pdf").exit_code == 2


def test_similar_command(demo_memory: dict[str, Any]) -> None:
    home = demo_memory["home"]
    digest = json.loads(xmem(home, "digest", "--week", "2026-W20", "-f", "json").stdout)
    urn = next(p for p in digest["projects"] if p["project"] == "credit-scoring")["ideas"][0]["best"]["urn"]
    found = json.loads(xmem(home, "similar", urn, "--json", "-n", "3").stdout)
    assert found["run"]["urn"] == urn and len(found["matches"]) == 3
    assert found["matches"][0]["score"] >= found["matches"][-1]["score"]
    text = xmem(home, "similar", urn)
    assert text.exit_code == 0 and found["matches"][0]["run"]["urn"] in text.stdout.replace("\n", "")
    planned = xmem(home, "similar", "--config", "-", "--json", input=json.dumps({"project": "credit-scoring", "params": found["run"]["params"]}))
    assert planned.exit_code == 0 and json.loads(planned.stdout)["matches"][0]["params"] == 1.0
    assert xmem(home, "similar").exit_code == 2
    bad = xmem(home, "similar", "--config", "-", input="{nope")
    assert bad.exit_code == 1 and "not JSON" in bad.output
