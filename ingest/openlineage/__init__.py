"""OpenLineage: pipeline lineage received over HTTP or replayed from event files."""

from ingest.openlineage.config import OpenLineageConfig
from ingest.openlineage.ingestor import OpenLineageIngestor

__all__ = ["OpenLineageConfig", "OpenLineageIngestor"]
