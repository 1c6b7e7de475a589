"""Experiment Memory: a searchable memory of every ML experiment an organization ran."""

__version__ = "0.1.0"
