"""MLflow: experiments, runs and the model registry from a tracking server."""

from ingest.mlflow.config import MlflowConfig
from ingest.mlflow.ingestor import MlflowIngestor

__all__ = ["MlflowConfig", "MlflowIngestor"]
