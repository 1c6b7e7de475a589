"""The graph store: the only code that touches SQLAlchemy sessions."""

from memory.store.base import ApplyResult, GraphStore, Lineage, Page, StoreStats
from memory.store.migrate import MigrationResult, checksum, migrate
from memory.store.sql import SqlGraphStore

__all__ = [
    "ApplyResult", "GraphStore", "Lineage", "MigrationResult", "Page", "SqlGraphStore", "StoreStats", "checksum", "migrate",
]
