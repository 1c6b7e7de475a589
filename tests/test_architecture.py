"""The dependency rules of DESIGN.md, checked on the import statements of every module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


RULES = [
    # (folder, forbidden import prefixes, why)
    ("memory/entities", ("memory", "ingest", "ui", "sqlalchemy"), "entities import nothing of ours"),
    ("ingest", ("memory.store", "memory.index", "memory.service", "memory.api", "memory.cli", "sqlalchemy"),
     "ingestors yield records; they never write"),
    ("memory/query", ("memory.store", "memory.index", "sqlalchemy", "ingest"), "the query grammar is pure"),
    ("memory/index", ("ingest", "memory.store", "sqlalchemy", "sentence_transformers"), "index is a core leaf"),
    ("memory/cli", ("memory.store", "memory.index.embedded", "sqlalchemy", "ingest"), "faces use the service only"),
    ("memory/api", ("memory.store", "memory.index", "sqlalchemy", "ingest", "memory.cli"), "faces use the service only"),
    ("memory/store", ("memory.api", "memory.cli", "ui", "ingest"), "the store knows no faces"),
    ("ui/slack", ("memory.store", "memory.index", "sqlalchemy", "ingest", "memory.api", "memory.cli"),
     "faces use the service only"),
    ("ui/app", ("memory.store", "memory.index", "memory.embeddings", "sqlalchemy", "ingest", "memory.api", "memory.cli"),
     "faces use the service only"),
]


@pytest.mark.parametrize(("folder", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_dependency_rules(folder: str, forbidden: tuple[str, ...], why: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in modules(folder)
        for name in imports_of(path)
        if starts(name, forbidden) and not starts(name, (folder.replace("/", "."),))
    ]
    assert not offenders, f"{why}: {offenders}"


@pytest.mark.parametrize(
    ("library", "home"),
    [
        ("sqlalchemy", "memory/store"),
        ("sentence_transformers", "memory/embeddings/sentence.py"),
        ("usearch", "memory/index/embedded.py"),
        ("elasticsearch", "memory/index/elastic.py"),
        ("langchain_core", "memory/langchain.py"),
        ("fastapi", "memory/api"),
        ("slack_bolt", "ui/slack"),
        ("slack_sdk", "ui/slack"),
        ("streamlit", "ui/app"),
        ("streamlit_echarts", "ui/app/views/lineage.py"),
    ],
)
def test_heavy_libraries_live_in_one_place(library: str, home: str) -> None:
    users = {
        str(path.relative_to(ROOT))
        for folder in ("memory", "ingest", "ui")
        for path in modules(folder)
        if any(starts(name, (library,)) for name in imports_of(path))
    }
    assert users and all(u.startswith(home) for u in users), users
