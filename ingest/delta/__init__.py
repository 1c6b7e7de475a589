"""Delta Lake: every version of a table's transaction log as a dataset version."""

from ingest.delta.config import DeltaConfig
from ingest.delta.ingestor import DeltaIngestor

__all__ = ["DeltaConfig", "DeltaIngestor"]
