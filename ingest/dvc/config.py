from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DvcConfig(BaseModel):
    """A DVC repository (a git working copy with a ``.dvc/`` folder) and how much of its history to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo_path: str = Field(description="The repository's root: the folder with .git/ and .dvc/.")
    project: str | None = Field(default=None, description="Project of the repository's runs; default: the folder name.")
    experiments: bool = Field(default=True, description="Also read `dvc exp run` experiments (refs/exps).")
    max_commits: int | None = Field(default=None, ge=1, description="Read at most this many commits (newest kept).")
    checkpoint_every: int = Field(default=100, ge=1, description="Commits per committed checkpoint.")
