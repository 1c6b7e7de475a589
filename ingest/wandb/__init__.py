"""Weights & Biases: runs and artifacts read from the run files the W&B client writes (offline mode)."""

from ingest.wandb.config import WandbConfig
from ingest.wandb.ingestor import WandbIngestor

__all__ = ["WandbConfig", "WandbIngestor"]
