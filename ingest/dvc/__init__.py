"""DVC: the pipeline states of a repository's git history and its experiments."""

from ingest.dvc.config import DvcConfig
from ingest.dvc.ingestor import DvcIngestor

__all__ = ["DvcConfig", "DvcIngestor"]
