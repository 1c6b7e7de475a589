"""Parser for ``--where`` filter expressions into the typed AST.

Grammar (keywords case-insensitive)::

    expr       := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | "(" expr ")" | comparison
    comparison := field OP value | field "in" "(" value ("," value)* ")"
    field      := attribute | ("metric" | "param" | "tag") "." name | `quoted name`
    OP         := = == != > >= < <= ~
    value      := number | 'text' | "text" | bare-word | ISO date (for ``time``)

Examples: ``metric.val_auc > 0.8 and param.optimizer = adam``,
``status in (FAILED, KILLED) or tag.team ~ growth``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from dateutil import parser as date_parser

from memory.errors import InvalidQuery
from memory.query.ast import ATTRIBUTES, And, Compare, Expr, FieldRef, In, Not, Or, Value

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<op>==|!=|>=|<=|=|>|<|~)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<backtick>`[^`]*`)
  | (?P<word>[A-Za-z0-9_.\-:/+@]+)
    """,
    re.VERBOSE,
)
_NAMESPACES = {"metric": "metric", "metrics": "metric", "param": "param", "params": "param", "tag": "tag", "tags": "tag"}
_KEYWORDS = {"and", "or", "not", "in"}


@dataclass(frozen=True)
class _Tok:
    type: str
    text: str
    pos: int


def _tokenize(source: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pos = 0
    while pos < len(source):
        match = _TOKEN.match(source, pos)
        if not match:
            raise InvalidQuery(
                f"unexpected character {source[pos]!r} at position {pos + 1} in filter {source!r}",
                position=pos,
                hint="quote values that contain spaces or symbols",
            )
        if match.lastgroup != "ws":
            tokens.append(_Tok(match.lastgroup or "", match.group(), pos))
        pos = match.end()
    tokens.append(_Tok("end", "", len(source)))
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.i = 0

    # -- helpers
    def peek(self) -> _Tok:
        return self.tokens[self.i]

    def take(self) -> _Tok:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok, hint: str | None = None) -> InvalidQuery:
        where = "at the end" if tok.type == "end" else f"at position {tok.pos + 1}"
        return InvalidQuery(f"{message} {where} in filter {self.source!r}", position=tok.pos, hint=hint)

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok.type == "word" and tok.text.lower() == word:
            self.i += 1
            return True
        return False

    # -- grammar
    def parse(self) -> Expr:
        expr = self.or_expr()
        if self.peek().type != "end":
            raise self.error(f"unexpected {self.peek().text!r}", self.peek(), hint="join conditions with 'and' / 'or'")
        return expr

    def or_expr(self) -> Expr:
        items = [self.and_expr()]
        while self.keyword("or"):
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self) -> Expr:
        items = [self.not_expr()]
        while self.keyword("and"):
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else And(tuple(items))

    def not_expr(self) -> Expr:
        if self.keyword("not"):
            return Not(self.not_expr())
        if self.peek().type == "lparen":
            self.take()
            expr = self.or_expr()
            if self.take().type != "rparen":
                raise self.error("missing ')'", self.tokens[self.i - 1])
            return expr
        return self.comparison()

    def field(self) -> FieldRef:
        tok = self.take()
        if tok.type == "backtick":
            text = tok.text[1:-1]
        elif tok.type == "word" and tok.text.lower() not in _KEYWORDS:
            text = tok.text
        else:
            raise self.error("expected a field such as metric.val_auc or project", tok)
        head, dot, rest = text.partition(".")
        if head.lower() in _NAMESPACES and dot and not rest:
            raise self.error(
                f"{head}. needs a name", tok, hint=f"e.g. {head}.val_auc; put names with spaces in backticks: `{head}.my name`"
            )
        try:
            if head.lower() in _NAMESPACES and rest:
                return FieldRef(_NAMESPACES[head.lower()], rest)  # type: ignore[arg-type]
            return FieldRef("attr", text.lower())
        except InvalidQuery as exc:
            raise self.error(exc.message, tok, hint=exc.hint) from None

    def value(self, field: FieldRef) -> Value:
        tok = self.take()
        if tok.type == "string":
            text = re.sub(r"\\(.)", r"\1", tok.text[1:-1])
        elif tok.type == "word":
            text = tok.text
        else:
            raise self.error("expected a value", tok)
        if ATTRIBUTES.get(field.name) is datetime and field.namespace == "attr":
            try:
                return date_parser.isoparse(text)
            except ValueError:
                raise self.error(f"{text!r} is not a date (use YYYY-MM-DD)", tok) from None
        if tok.type == "word":
            try:
                return float(text)
            except ValueError:
                pass
        return text

    def comparison(self) -> Expr:
        field = self.field()
        tok = self.peek()
        if tok.type == "word" and tok.text.lower() == "in":
            self.take()
            if self.take().type != "lparen":
                raise self.error("expected '(' after 'in'", self.tokens[self.i - 1])
            values = [self.value(field)]
            while self.peek().type == "comma":
                self.take()
                values.append(self.value(field))
            if self.take().type != "rparen":
                raise self.error("missing ')' after the 'in' list", self.tokens[self.i - 1])
            return In(field, tuple(values))
        if tok.type != "op":
            raise self.error(f"expected an operator after {field}", tok, hint="use one of = != > >= < <= ~ in")
        self.take()
        op = "=" if tok.text == "==" else tok.text
        value_tok = self.peek()
        value = self.value(field)
        if op == "~" and not isinstance(value, str):
            value = value_tok.text  # "contains" is a text operation
        if field.namespace == "metric" and not isinstance(value, float):
            raise self.error(
                f"{field} compares to numbers, not {value_tok.text!r}", value_tok, hint=f"e.g. {field} > 0.8"
            )
        return Compare(field, op, value)  # type: ignore[arg-type]


def parse_where(source: str) -> Expr:
    """Parse a filter expression; raises :class:`InvalidQuery` with the error position."""
    if not source or not source.strip():
        raise InvalidQuery("empty filter", position=0)
    return _Parser(source).parse()
