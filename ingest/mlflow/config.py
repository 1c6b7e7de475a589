from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class MlflowConfig(BaseModel):
    """Where to read MLflow from and what to read."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_uri: str = Field(
        description="MLflow tracking URI: http(s)://host:port of a tracking server, or a sqlite:/// / file: store."
    )
    experiments: tuple[str, ...] = Field(
        default=(), description="Experiment names to ingest; empty means every experiment."
    )
    registry: bool = Field(default=True, description="Also ingest the model registry (models, versions, aliases, stages).")
    page_size: int = Field(default=5000, ge=1, le=50_000, description="Runs per search_runs page.")
    checkpoint_every: int = Field(default=200, ge=1, description="Runs between committed checkpoints.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Connection check timeout.")

    @field_validator("tracking_uri")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.split(":", 1)[0] in ("http", "https", "sqlite", "file", "postgresql", "mysql") and "://" not in value:
            raise ValueError(
                f"{value!r} is not a tracking URI; use http://host:port for a tracking server or sqlite:///path/mlflow.db"
            )
        return value
