"""The one query grammar: a typed AST, the ``--where`` parser and the reference evaluator."""

from memory.query.ast import And, Compare, FieldRef, In, Missing, Not, Or, SearchQuery, all_of
from memory.query.evaluate import evaluate
from memory.query.where import parse_where

__all__ = ["And", "Compare", "FieldRef", "In", "Missing", "Not", "Or", "SearchQuery", "all_of", "evaluate", "parse_where"]
