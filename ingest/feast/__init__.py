"""Feast: entities, data sources, feature views and feature services from a feature repository's registry.

Importing the package does not import Feast (it takes seconds): ``ingest.feast.urns`` is used by
the MLflow and W&B mappings, and the ingestor imports Feast when it runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FeastConfig", "FeastIngestor"]


def __getattr__(name: str) -> Any:
    if name == "FeastConfig":
        from ingest.feast.config import FeastConfig

        return FeastConfig
    if name == "FeastIngestor":
        from ingest.feast.ingestor import FeastIngestor

        return FeastIngestor
    raise AttributeError(name)
