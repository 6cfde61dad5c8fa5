"""Graph's `$filter` subset: eq, ne, startswith, and, or, not, parentheses.

Parsed into a small AST, then compiled against the columns a kind declares
filterable (indexed ones): every literal becomes a bound parameter, never SQL text.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, false, func, not_, or_

from corestore.errors import InvalidRequest

MAX_LENGTH = 2048
MAX_DEPTH = 16
MAX_TERMS = 32
Value = str | bool | int | uuid.UUID | None


class FilterError(InvalidRequest):
    """A `$filter` the store cannot accept; the message says what and where."""


class ColumnKind(Enum):
    STRING = "string"
    BOOL = "bool"
    UUID = "uuid"
    INT = "int"


@dataclass(frozen=True)
class FilterableColumn:
    column: Any
    kind: ColumnKind
    case_insensitive: bool = False


@dataclass(frozen=True)
class Compare:
    attr: str
    op: Literal["eq", "ne"]
    value: Value


@dataclass(frozen=True)
class StartsWith:
    attr: str
    prefix: str


@dataclass(frozen=True)
class And:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    terms: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    term: Node


Node = Compare | StartsWith | And | Or | Not

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<guid>[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12})"
    r"|(?P<number>-?\d{1,18}(?![\w-]))|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),]))"
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            snippet = text[pos:].lstrip()[:10]
            raise FilterError(f"unexpected text {snippet!r} at {len(text) - len(text[pos:].lstrip())}")
        tokens.append(Token(match.lastgroup, match.group(match.lastgroup), match.start(match.lastgroup)))
        pos = match.end()
    return tokens


class Parser:
    def __init__(self, text: str) -> None:
        if len(text) > MAX_LENGTH:
            raise FilterError(f"filter longer than {MAX_LENGTH} characters")
        self.tokens = tokenize(text)
        self.pos = 0
        self.terms = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("empty filter")
        node = self._or(0)
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            raise FilterError(f"unexpected token {token.text!r} at {token.at}")
        return node

    def _peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos].kind == "name":
            return self.tokens[self.pos].text.lower()
        return None

    def _next(self, what: str) -> Token:
        if self.pos >= len(self.tokens):
            raise FilterError(f"expected {what} at the end")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _or(self, depth: int) -> Node:
        terms = [self._and(depth)]
        while self._peek_word() == "or":
            self.pos += 1
            terms.append(self._and(depth))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _and(self, depth: int) -> Node:
        terms = [self._unary(depth)]
        while self._peek_word() == "and":
            self.pos += 1
            terms.append(self._unary(depth))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _unary(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise FilterError(f"filter nested deeper than {MAX_DEPTH}")
        if self._peek_word() == "not":
            self.pos += 1
            return Not(self._unary(depth + 1))
        token = self._next("a condition")
        if token.text == "(":
            node = self._or(depth + 1)
            self._expect(")")
            return node
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise FilterError(f"more than {MAX_TERMS} conditions")
        if token.kind != "name":
            raise FilterError(f"expected an attribute at {token.at}, found {token.text!r}")
        if token.text.lower() == "startswith":
            return self._startswith()
        op = self._next("eq or ne")
        if op.kind != "name" or op.text.lower() not in ("eq", "ne"):
            raise FilterError(f"expected eq or ne at {op.at}, found {op.text!r}")
        return Compare(token.text, "eq" if op.text.lower() == "eq" else "ne", self._literal())

    def _startswith(self) -> Node:
        self._expect("(")
        attr = self._next("an attribute")
        if attr.kind != "name":
            raise FilterError(f"expected an attribute at {attr.at}")
        self._expect(",")
        prefix = self._literal()
        if not isinstance(prefix, str):
            raise FilterError("startswith needs a string")
        self._expect(")")
        return StartsWith(attr.text, prefix)

    def _expect(self, text: str) -> None:
        token = self._next(repr(text))
        if token.text != text:
            raise FilterError(f"expected {text!r} at {token.at}, found {token.text!r}")

    def _literal(self) -> Value:
        token = self._next("a value")
        if token.kind == "string":
            return token.text[1:-1].replace("''", "'")
        if token.kind == "guid":
            return uuid.UUID(token.text)
        if token.kind == "number":
            return int(token.text)
        words: dict[str, Value] = {"true": True, "false": False, "null": None}
        if token.kind == "name" and token.text.lower() in words:
            return words[token.text.lower()]
        raise FilterError(f"expected a value at {token.at}, found {token.text!r}")


def parse_filter(text: str) -> Node:
    return Parser(text).parse()


def compile_filter(node: Node, columns: Mapping[str, FilterableColumn]) -> ColumnElement[bool]:
    if isinstance(node, And):
        return and_(*(compile_filter(t, columns) for t in node.terms))
    if isinstance(node, Or):
        return or_(*(compile_filter(t, columns) for t in node.terms))
    if isinstance(node, Not):
        return not_(compile_filter(node.term, columns))
    target = _column(node.attr, columns)
    if isinstance(node, StartsWith):
        if target.kind is not ColumnKind.STRING:
            raise FilterError(f"startswith needs a string attribute, not {node.attr}")
        column, prefix = _folded(target, node.prefix)
        return column.startswith(prefix, autoescape=True)  # type: ignore[no-any-return]
    if node.value is None:
        return target.column.is_(None) if node.op == "eq" else target.column.is_not(None)  # type: ignore[no-any-return]
    value = _coerce(node.attr, target, node.value)
    if value is _NO_MATCH:
        return false() if node.op == "eq" else target.column.is_not(None)
    column, value = _folded(target, value)
    return (column == value) if node.op == "eq" else (column != value)  # type: ignore[no-any-return]


_NO_MATCH = object()


def _column(attr: str, columns: Mapping[str, FilterableColumn]) -> FilterableColumn:
    found = columns.get(attr)
    if found is None:
        raise FilterError(f"unknown attribute {attr!r} (filterable: {', '.join(sorted(columns))})")
    return found


def _coerce(attr: str, target: FilterableColumn, value: Value) -> Any:
    expected = {
        ColumnKind.STRING: str,
        ColumnKind.BOOL: bool,
        ColumnKind.INT: int,
        ColumnKind.UUID: uuid.UUID,
    }
    if target.kind is ColumnKind.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return _NO_MATCH
    kind = expected[target.kind]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise FilterError(f"{attr} compares with a {target.kind.value}, not {value!r}")
    return value


def _folded(target: FilterableColumn, value: Any) -> tuple[Any, Any]:
    """Case-insensitive attributes compare lower(column) with a lowered value (an indexed expression)."""
    if target.case_insensitive and isinstance(value, str):
        return func.lower(target.column), value.lower()
    return target.column, value


def render(node: Node) -> str:
    """Filter text for an AST: parse(render(n)) == n."""
    if isinstance(node, And | Or):
        word = " and " if isinstance(node, And) else " or "
        return "(" + word.join(render(t) for t in node.terms) + ")"
    if isinstance(node, Not):
        return f"not ({render(node.term)})"
    if isinstance(node, StartsWith):
        return f"startswith({node.attr}, {_render_value(node.prefix)})"
    return f"{node.attr} {node.op} {_render_value(node.value)}"


def _render_value(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)
