from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FeastConfig(BaseModel):
    """Which Feast feature repository to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo_path: str = Field(
        description="Folder of the Feast feature repository (the one holding feature_store.yaml); its registry is read "
        "through Feast's own API."
    )
