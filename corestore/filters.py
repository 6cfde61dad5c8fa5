"""Graph's `$filter` subset: eq, ne, startswith, and, or, not, parentheses.

Text is tokenized, parsed into a small frozen AST, then compiled against the columns a kind
declares filterable (its indexed ones). Every literal becomes a bound parameter, never SQL text,
and limits on length, nesting and conditions make hostile input cheap to refuse.
One module over 300 lines on purpose: tokenizer, parser, compiler and renderer are one
small language, and each is read against the others.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal, TypeAlias

from sqlalchemy import ColumnElement, and_, func, literal, or_
from sqlalchemy.orm import QueryableAttribute

from corestore.errors import InvalidRequest

MAX_LENGTH = 2048
MAX_DEPTH = 16
MAX_TERMS = 32
LIKE_ESCAPE = "/"

Value: TypeAlias = str | bool | int | uuid.UUID | None


class FilterError(InvalidRequest):
    """A `$filter` the store refuses; the message says what is wrong and where (a character offset)."""


class ColumnKind(Enum):
    STRING = "string"
    BOOL = "boolean"
    UUID = "guid"
    INT = "integer"


@dataclass(frozen=True)
class FilterableColumn:
    """A column a filter may name; case-insensitive ones compare as lower(column), as an index on it does."""

    column: ColumnElement[Any] | QueryableAttribute[Any]
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


Node: TypeAlias = Compare | StartsWith | And | Or | Not

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<string>'(?:[^']|'')*+')"  # possessive: an unterminated string is reported where it starts
    r"|(?P<guid>[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})(?![\w-])"
    r"|(?P<number>-?[0-9]{1,18})(?![\w-])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<punct>[(),])"
)
# PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded for the wire.
_UNSENDABLE = re.compile(r"[\x00\ud800-\udfff]")
_CONSTANTS: Mapping[str, Value] = {"true": True, "false": False, "null": None}
_RESERVED = frozenset({"and", "or", "not", "eq", "ne", "startswith", *_CONSTANTS})


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    at: int

    def word(self) -> str:
        """The keyword this token may be (keywords are case-insensitive), or '' for other tokens."""
        return self.text.lower() if self.kind == "word" else ""


def _tokenize(text: str) -> list[_Token]:
    bad = _UNSENDABLE.search(text)
    if bad:
        raise FilterError(f"invalid character U+{ord(bad.group()):04X} at {bad.start()}")
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise FilterError(_bad_text(text, pos))
        if match.lastgroup != "space":
            tokens.append(_Token(match.lastgroup or "", match.group(), pos))
        pos = match.end()
    return tokens


def _bad_text(text: str, pos: int) -> str:
    if text[pos] == "'":
        return f"unterminated string at {pos}"
    snippet = re.match(r"\S{1,20}", text[pos:])
    return f"unexpected {snippet.group() if snippet else text[pos]!r} at {pos}"


class _Parser:
    """Recursive descent, loosest first: or_expr := and_expr ('or' and_expr)*;
    and_expr := unary ('and' unary)*; unary := 'not' unary | '(' or_expr ')' | condition."""

    def __init__(self, text: str) -> None:
        self.end = len(text)
        self.tokens = _tokenize(text)
        self.pos = 0
        self.terms = 0

    def parse(self) -> Node:
        if not self.tokens:
            raise FilterError("empty filter")
        node = self._or(0)
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            if token.text == ")":
                raise FilterError(f"unbalanced ')' at {token.at}")
            raise FilterError(f"unexpected token {token.text!r} at {token.at}")
        return node

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self, what: str) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterError(f"expected {what} at {self.end} (end of filter)")
        self.pos += 1
        return token

    def _accept(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.word() == word:
            self.pos += 1
            return True
        return False

    def _or(self, depth: int) -> Node:
        terms = [self._and(depth)]
        while self._accept("or"):
            terms.append(self._and(depth))
        return terms[0] if len(terms) == 1 else Or(tuple(terms))

    def _and(self, depth: int) -> Node:
        terms = [self._unary(depth)]
        while self._accept("and"):
            terms.append(self._unary(depth))
        return terms[0] if len(terms) == 1 else And(tuple(terms))

    def _unary(self, depth: int) -> Node:
        token = self._next("a condition")
        if token.word() != "not" and token.text != "(":
            return self._condition(token)
        if depth >= MAX_DEPTH:
            raise FilterError(f"nested deeper than {MAX_DEPTH} at {token.at}")
        if token.text != "(":
            return Not(self._unary(depth + 1))
        node = self._or(depth + 1)
        if self._peek() is None:
            raise FilterError(f"unbalanced '(' at {token.at}")
        self._expect(")")
        return node

    def _condition(self, attr: _Token) -> Node:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise FilterError(f"more than {MAX_TERMS} conditions at {attr.at}")
        if attr.word() == "startswith":
            return self._startswith()
        _check_attribute(attr)
        op = self._next("eq or ne")
        if op.word() not in ("eq", "ne"):
            raise FilterError(f"expected eq or ne at {op.at}, found {op.text!r}")
        return Compare(attr.text, "eq" if op.word() == "eq" else "ne", self._literal())

    def _startswith(self) -> Node:
        self._expect("(")
        attr = self._next("an attribute")
        _check_attribute(attr)
        self._expect(",")
        at = self._peek()
        prefix = self._literal()
        if not isinstance(prefix, str):
            raise FilterError(f"startswith needs a string at {at.at if at else self.end}")
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
        if token.word() in _CONSTANTS:
            return _CONSTANTS[token.word()]
        raise FilterError(f"expected a value at {token.at}, found {token.text!r}")


def _check_attribute(token: _Token) -> None:
    if token.kind != "word" or token.word() in _RESERVED:
        raise FilterError(f"expected an attribute at {token.at}, found {token.text!r}")


def parse_filter(text: str) -> Node:
    """The AST of a `$filter`, or a FilterError saying what is wrong and where."""
    if len(text) > MAX_LENGTH:
        raise FilterError(f"filter is {len(text)} characters, over the limit of {MAX_LENGTH}")
    return _Parser(text).parse()


def compile_filter(node: Node, columns: Mapping[str, FilterableColumn]) -> ColumnElement[bool]:
    """A WHERE clause for `node`, naming only `columns` and binding every literal as a parameter."""
    return _compile(node, columns, negated=False)


def _compile(node: Node, columns: Mapping[str, FilterableColumn], negated: bool) -> ColumnElement[bool]:
    """`not` is pushed down to the conditions (De Morgan), so a NULL attribute follows OData's
    two-valued logic (`not (a eq 'x')` holds when a is null) while plain conditions stay indexable."""
    if isinstance(node, Not):
        return _compile(node.term, columns, not negated)
    if isinstance(node, And | Or):
        parts = [_compile(term, columns, negated) for term in node.terms]
        return and_(*parts) if isinstance(node, And) != negated else or_(*parts)
    target = columns.get(node.attr)
    if target is None:
        known = ", ".join(sorted(columns))
        raise FilterError(f"unknown attribute {node.attr!r} (filterable: {known})")
    if isinstance(node, StartsWith):
        return _starts_with(node, target, negated)
    return _compare(node, target, negated)


def _compare(node: Compare, target: FilterableColumn, negated: bool) -> ColumnElement[bool]:
    equal = (node.op == "eq") != negated
    if node.value is None:
        return target.column.is_(None) if equal else target.column.is_not(None)
    value = _coerce(node.attr, target, node.value)
    column, param = _sides(target, value)
    return column == param if equal else column.is_distinct_from(param)


def _starts_with(node: StartsWith, target: FilterableColumn, negated: bool) -> ColumnElement[bool]:
    if target.kind is not ColumnKind.STRING:
        raise FilterError(f"startswith needs a string attribute, not {node.attr} ({target.kind.value})")
    column, pattern = _sides(target, like_prefix(node.prefix))
    if negated:
        return or_(target.column.is_(None), column.not_like(pattern, escape=LIKE_ESCAPE))
    return column.like(pattern, escape=LIKE_ESCAPE)


def like_prefix(prefix: str) -> str:
    """A LIKE pattern (escape character LIKE_ESCAPE) matching strings that start with `prefix`."""
    escaped = prefix.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
    return escaped.replace("%", LIKE_ESCAPE + "%").replace("_", LIKE_ESCAPE + "_") + "%"


_PYTHON_TYPES: Mapping[ColumnKind, type] = {
    ColumnKind.STRING: str,
    ColumnKind.BOOL: bool,
    ColumnKind.INT: int,
    ColumnKind.UUID: uuid.UUID,
}


def _coerce(attr: str, target: FilterableColumn, value: str | bool | int | uuid.UUID) -> object:
    """The literal as the column's type; a quoted GUID is accepted for a UUID column, as Graph does."""
    if target.kind is ColumnKind.UUID and isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            raise FilterError(f"{attr} needs a guid, not {_render_value(value)}") from None
    if type(value) is not _PYTHON_TYPES[target.kind]:  # exact: a bool is an int to isinstance
        raise FilterError(f"cannot compare {attr} ({target.kind.value}) with {_render_value(value)}")
    return value


def _sides(target: FilterableColumn, value: object) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """Column and bound value; case-insensitive ones are both lowered by PostgreSQL, so the folding
    matches the lower(column) index exactly (Python's str.lower differs for some scripts)."""
    param = literal(value)
    if target.case_insensitive and target.kind is ColumnKind.STRING:
        return func.lower(target.column), func.lower(param)
    return target.column.expression, param


def render(node: Node) -> str:
    """Filter text for an AST, the parser's inverse: parse_filter(render(n)) == n is the property
    the filter tests hold the parser to (generated trees, rendered, parsed back). Parentheses
    appear only where the tree needs them, so a filter that parsed renders within the nesting limit."""
    if isinstance(node, And | Or):
        word = " and " if isinstance(node, And) else " or "
        return word.join(_operand(term, node) for term in node.terms)
    if isinstance(node, Not):
        return "not " + _operand(node.term, node)
    if isinstance(node, StartsWith):
        return f"startswith({node.attr}, {_render_value(node.prefix)})"
    return f"{node.attr} {node.op} {_render_value(node.value)}"


def _operand(child: Node, parent: Node) -> str:
    """A child binding looser than its parent, or as tightly (it would merge into it), needs parentheses."""
    tight = isinstance(child, Compare | StartsWith | Not)
    bare = tight or (isinstance(child, And) and isinstance(parent, Or))
    return render(child) if bare else f"({render(child)})"


def _render_value(value: Value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)
