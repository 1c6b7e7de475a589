"""The HTTP API (FastAPI). Routes talk to :mod:`memory.service` only."""

from memory.api.app import create_app

__all__ = ["create_app"]
