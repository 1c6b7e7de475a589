from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WandbConfig(BaseModel):
    """Which W&B run files to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paths: tuple[str, ...] = Field(
        default=(),
        description="W&B run files (run-<id>.wandb) or folders searched recursively for them "
        "(a project folder, its wandb/ folder, or one offline-run-* folder).",
    )
    default_entity: str = Field(
        default="local",
        min_length=1,
        description="Entity (user or team) of runs that did not name one; offline runs get theirs only when synced.",
    )
    checkpoint_every: int = Field(default=50, ge=1, description="Runs between committed checkpoints.")
