from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DeltaConfig(BaseModel):
    """One Delta table to read (``xmem ingest delta`` makes one ingest per table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    table_uri: str = Field(description="The table's location: a local path, file://, s3://, gs://, abfss:// …")
    storage_options: dict[str, str] = Field(
        default_factory=dict, description="Object-store credentials and options, passed to deltalake as they are."
    )
    project: str | None = Field(default=None, description="Project the table's nodes belong to (visibility).")
    checkpoint_every: int = Field(default=200, ge=1, description="Table versions per committed checkpoint.")

    @field_validator("table_uri")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("give the table's location (a path or a URI such as s3://bucket/table)")
        return value
