"""Every setting, CLI command, ingestor and source option is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from ingest.base import available_ingestors
from memory.cli.main import app
from memory.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    assert f"XMEM_{field.upper()}" in README


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names.extend(f"{name} {s}" for s in sub) if sub else names.append(name)
    return sorted(names)


@pytest.mark.parametrize("command", _commands())
def test_every_cli_command_is_documented(command: str) -> None:
    assert re.search(rf"`xmem {re.escape(command)}\b", README), f"`xmem {command}` is missing from the README"


@pytest.mark.parametrize("name", sorted(available_ingestors()))
def test_every_ingestor_and_its_options_are_documented(name: str) -> None:
    info = available_ingestors()[name]
    assert f"xmem ingest {name}" in README
    assert info.ingestor is not None, info.error
    for field in info.ingestor.config_class.model_fields:
        assert f"`{field}`" in README, f"{name} option {field} is undocumented"
