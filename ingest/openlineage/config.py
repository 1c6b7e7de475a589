from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OpenLineageConfig(BaseModel):
    """Which OpenLineage event files to replay."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: tuple[str, ...] = Field(
        default=(),
        description="Files or folders of events: .json (one event or a list), .ndjson/.jsonl (one event a line); "
        "folders are read recursively in name order.",
    )
    strict: bool = Field(
        default=False,
        description="Refuse the whole input at the first invalid event (the HTTP receiver does); "
        "otherwise invalid events are reported with file:line and skipped.",
    )
    batch_size: int = Field(default=500, ge=1, le=100_000, description="Events committed per transaction.")
