"""Graph's `$search` for directory objects: `"property:words"` clauses joined by AND / OR.

As Graph does, a clause matches when each of its words starts a word of the property
(`"displayName:jo sm"` finds "John Smith"), case-insensitively. AND binds tighter than OR;
there are no parentheses. Every word becomes a bound LIKE pattern, never SQL text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import ColumnElement, and_, func, literal, or_

from corestore.filters import LIKE_ESCAPE, FilterableColumn, FilterError, like_prefix

MAX_LENGTH = 512
MAX_CLAUSES = 8
_CLAUSE = re.compile(r'\s*"(?P<attr>[A-Za-z]+):(?P<words>[^"]*)"\s*')
_JOIN = re.compile(r"(AND|OR)(?=\s|\")")


class SearchError(FilterError):
    """A `$search` the store refuses; the message says what Graph's syntax expects."""


def compile_search(text: str, columns: Mapping[str, FilterableColumn]) -> ColumnElement[bool]:
    """A WHERE clause for a `$search` over the string `columns` (Graph names)."""
    if len(text) > MAX_LENGTH:
        raise SearchError(f"$search is over {MAX_LENGTH} characters")
    alternatives: list[list[ColumnElement[bool]]] = [[]]
    pos, clauses = 0, 0
    while True:
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise SearchError(f'expected "property:value" in double quotes at {pos}')
        clauses += 1
        if clauses > MAX_CLAUSES:
            raise SearchError(f"more than {MAX_CLAUSES} clauses")
        alternatives[-1].append(_clause(match.group("attr"), match.group("words"), columns))
        pos = match.end()
        if pos == len(text):
            break
        join = _JOIN.match(text, pos)
        if join is None:
            raise SearchError(f"expected AND or OR at {pos}")
        if join.group(1) == "OR":
            alternatives.append([])
        pos = join.end()
    return or_(*(and_(*terms) for terms in alternatives))


def _clause(attr: str, words: str, columns: Mapping[str, FilterableColumn]) -> ColumnElement[bool]:
    target = columns.get(attr)
    if target is None:
        raise SearchError(f"cannot search {attr!r} (searchable: {', '.join(sorted(columns))})")
    tokens = words.split()
    if not tokens or "\x00" in words:
        raise SearchError(f"nothing to search for in {attr!r}")
    column = func.lower(target.column)
    terms = []
    for word in tokens:
        pattern = func.lower(literal(like_prefix(word)))
        inner = func.lower(literal("% " + like_prefix(word)))
        terms.append(or_(column.like(pattern, escape=LIKE_ESCAPE), column.like(inner, escape=LIKE_ESCAPE)))
    return and_(*terms)
