"""`$filter`: parsing, precedence, limits, error positions, and SQL with every literal bound."""

from __future__ import annotations

import contextlib
import re
import uuid
from typing import Literal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, Uuid, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Compiled

from corestore.errors import InvalidRequest
from corestore.filters import (
    LIKE_ESCAPE,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TERMS,
    And,
    ColumnKind,
    Compare,
    FilterableColumn,
    FilterError,
    Node,
    Not,
    Or,
    StartsWith,
    compile_filter,
    like_prefix,
    parse_filter,
    render,
)

PEOPLE = Table(
    "people",
    MetaData(),
    Column("display_name", String),
    Column("upn", String),
    Column("enabled", Boolean),
    Column("id", Uuid),
    Column("age", Integer),
)
COLUMNS = {
    "displayName": FilterableColumn(PEOPLE.c.display_name, ColumnKind.STRING),
    "userPrincipalName": FilterableColumn(PEOPLE.c.upn, ColumnKind.STRING, case_insensitive=True),
    "accountEnabled": FilterableColumn(PEOPLE.c.enabled, ColumnKind.BOOL),
    "id": FilterableColumn(PEOPLE.c.id, ColumnKind.UUID),
    "age": FilterableColumn(PEOPLE.c.age, ColumnKind.INT),
}
PG = postgresql.dialect()  # type: ignore[no-untyped-call]
GUID = uuid.UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
HOSTILE = "x' OR 1=1 --"


def sql(text: str) -> Compiled:
    return select(PEOPLE.c.id).where(compile_filter(parse_filter(text), COLUMNS)).compile(dialect=PG)


def where(text: str) -> str:
    return sql(text).string.split("WHERE ", 1)[1]


def a(value: str) -> Compare:
    return Compare("displayName", "eq", value)


# Parsing


@pytest.mark.parametrize(
    ("text", "node"),
    [
        ("displayName eq 'Ann'", a("Ann")),
        ("displayName ne 'Ann'", Compare("displayName", "ne", "Ann")),
        ("startswith(displayName, 'An')", StartsWith("displayName", "An")),
        ("accountEnabled eq true", Compare("accountEnabled", "eq", True)),
        ("accountEnabled eq false", Compare("accountEnabled", "eq", False)),
        ("mail eq null", Compare("mail", "eq", None)),
        ("age eq 42", Compare("age", "eq", 42)),
        ("age ne -7", Compare("age", "ne", -7)),
        (f"id eq {GUID}", Compare("id", "eq", GUID)),
        (f"id eq {str(GUID).upper()}", Compare("id", "eq", GUID)),
        (f"id eq '{GUID}'", Compare("id", "eq", str(GUID))),
        ("displayName eq 'O''Brien'", a("O'Brien")),
        ("displayName eq ''''", a("'")),
        ("displayName eq ''", a("")),
        ("displayName eq 'a and b or not c'", a("a and b or not c")),
        ("not displayName eq 'a'", Not(a("a"))),
        ("not (displayName eq 'a')", Not(a("a"))),
        ("not not startswith(displayName, 'a')", Not(Not(StartsWith("displayName", "a")))),
        ("((displayName eq 'a'))", a("a")),
        ("  displayName   eq\t'a'\n", a("a")),
        ("displayName eq'a'and(displayName eq'b')", And((a("a"), a("b")))),
        ("displayName eq 'a' and displayName eq 'b' and displayName eq 'c'", And((a("a"), a("b"), a("c")))),
        ("displayName eq 'a' or displayName eq 'b' or displayName eq 'c'", Or((a("a"), a("b"), a("c")))),
    ],
)
def test_parses(text: str, node: Node) -> None:
    assert parse_filter(text) == node


def test_precedence_not_over_and_over_or() -> None:
    text = "displayName eq 'x' or userPrincipalName eq 'y' and accountEnabled eq true"
    x, y, c = a("x"), Compare("userPrincipalName", "eq", "y"), Compare("accountEnabled", "eq", True)
    assert parse_filter(text) == Or((x, And((y, c))))
    assert parse_filter(f"({text.replace(' or', ') or (')})") == Or((x, And((y, c))))
    assert parse_filter("displayName eq 'x' and (displayName eq 'y' or displayName eq 'z')") == And(
        (x, Or((a("y"), a("z"))))
    )
    assert parse_filter("not displayName eq 'x' and displayName eq 'y'") == And((Not(x), a("y")))
    assert parse_filter("not (displayName eq 'x' and displayName eq 'y')") == Not(And((x, a("y"))))


@pytest.mark.parametrize(
    "text",
    [
        "displayName EQ 'a' AND NOT displayName Ne 'b' Or displayName eq 'c'",
        "displayName eq 'a' and not displayName ne 'b' or displayName eq 'c'",
    ],
)
def test_keywords_are_case_insensitive(text: str) -> None:
    expected = Or((And((a("a"), Not(Compare("displayName", "ne", "b")))), a("c")))
    assert parse_filter(text) == expected


def test_function_and_constants_are_case_insensitive() -> None:
    assert parse_filter("StartsWith(displayName, 'a') and accountEnabled eq TRUE and mail EQ NULL") == And(
        (StartsWith("displayName", "a"), Compare("accountEnabled", "eq", True), Compare("mail", "eq", None))
    )


def test_attribute_names_keep_their_case() -> None:
    assert parse_filter("DisplayName eq 'a'") == Compare("DisplayName", "eq", "a")
    with pytest.raises(FilterError, match="unknown attribute 'DisplayName'"):
        compile_filter(parse_filter("DisplayName eq 'a'"), COLUMNS)


# Errors: what is wrong, and where


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty filter"),
        ("   ", "empty filter"),
        ("displayName eq 'a' xyz", "unexpected token 'xyz' at 19"),
        ("displayName eq 'a' eq 'b'", "unexpected token 'eq' at 19"),
        ("(displayName eq 'a'", "unbalanced '\\(' at 0"),
        ("displayName eq 'a')", "unbalanced '\\)' at 18"),
        ("((displayName eq 'a')", "unbalanced '\\(' at 0"),
        ("()", "expected an attribute at 1, found '\\)'"),
        ("displayName eq 'abc", "unterminated string at 15"),
        ("displayName eq 'it''s", "unterminated string at 15"),
        ("displayName eq", "expected a value at 14 \\(end of filter\\)"),
        ("displayName", "expected eq or ne at 11"),
        ("displayName gt 'a'", "expected eq or ne at 12, found 'gt'"),
        ("displayName eq 'a' and", "expected a condition at 22"),
        ("displayName eq 'a' or or displayName eq 'b'", "expected an attribute at 22, found 'or'"),
        ("displayName eq and", "expected a value at 15, found 'and'"),
        ("and eq 'a'", "expected an attribute at 0, found 'and'"),
        ("'a' eq displayName", "expected an attribute at 0, found \"'a'\""),
        ("startswith(displayName, 5)", "startswith needs a string at 24"),
        ("startswith(displayName, null)", "startswith needs a string at 24"),
        ("startswith(displayName 'a')", "expected ',' at 23"),
        ("startswith(displayName, 'a'", "expected '\\)' at 27"),
        ("startswith eq 'a'", "expected '\\(' at 11, found 'eq'"),
        ("endswith(displayName, 'a')", "expected eq or ne at 8, found '\\('"),
        ("displayName eq 'a' && age eq 1", "unexpected '&&' at 19"),
        ("age eq 1abc", "unexpected '1abc' at 7"),
        ("age eq 1234567890123456789", "unexpected '1234567890123456789' at 7"),
        ("displayName eq 'é' or displayNamé eq 'a'", "unexpected 'é' at 32"),
        ("displayName eq 'a\x00b'", "invalid character U\\+0000 at 17"),
        ("displayName eq '\ud800'", "invalid character U\\+D800 at 16"),
        ("x" * (MAX_LENGTH + 1), f"filter is {MAX_LENGTH + 1} characters, over the limit of {MAX_LENGTH}"),
    ],
)
def test_parse_errors_say_what_and_where(text: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        parse_filter(text)


def test_filter_error_is_an_invalid_request() -> None:
    """`auth_service` maps InvalidRequest to 400 once; a bad filter must land there too."""
    assert issubclass(FilterError, InvalidRequest)
    assert issubclass(FilterError, ValueError)


def test_length_limit_is_inclusive() -> None:
    padded = "displayName eq '" + "x" * (MAX_LENGTH - 17) + "'"
    assert len(padded) == MAX_LENGTH
    assert parse_filter(padded) == a("x" * (MAX_LENGTH - 17))


def test_nesting_limit() -> None:
    inner = "displayName eq 'a'"
    assert parse_filter("(" * MAX_DEPTH + inner + ")" * MAX_DEPTH) == a("a")
    assert parse_filter("not " * MAX_DEPTH + inner) is not None
    with pytest.raises(FilterError, match=f"nested deeper than {MAX_DEPTH} at {MAX_DEPTH}"):
        parse_filter("(" * (MAX_DEPTH + 1) + inner + ")" * (MAX_DEPTH + 1))
    with pytest.raises(FilterError, match=f"nested deeper than {MAX_DEPTH} at {4 * MAX_DEPTH}"):
        parse_filter("not " * (MAX_DEPTH + 1) + inner)
    with pytest.raises(FilterError, match="nested deeper"):
        parse_filter("(" * MAX_LENGTH)


def test_terms_limit() -> None:
    terms = [f"age eq {i}" for i in range(MAX_TERMS + 1)]
    assert isinstance(parse_filter(" or ".join(terms[:MAX_TERMS])), Or)
    offset = len(" or ".join(terms[:MAX_TERMS])) + len(" or ")
    with pytest.raises(FilterError, match=f"more than {MAX_TERMS} conditions at {offset}"):
        parse_filter(" or ".join(terms))


# Compilation


def test_compiles_each_construct() -> None:
    assert where("displayName eq 'a'") == "people.display_name = %(param_1)s::VARCHAR"
    assert where("displayName ne 'a'") == "people.display_name IS DISTINCT FROM %(param_1)s::VARCHAR"
    assert where("displayName eq null") == "people.display_name IS NULL"
    assert where("displayName ne null") == "people.display_name IS NOT NULL"
    assert where("accountEnabled eq true") == "people.enabled = %(param_1)s"
    assert where("age eq 3") == "people.age = %(param_1)s::INTEGER"
    assert where("startswith(displayName, 'a')") == "people.display_name LIKE %(param_1)s::VARCHAR ESCAPE '/'"
    assert where("displayName eq 'a' and (age eq 1 or age eq 2)") == (
        "people.display_name = %(param_1)s::VARCHAR"
        " AND (people.age = %(param_2)s::INTEGER OR people.age = %(param_3)s::INTEGER)"
    )


def test_case_insensitive_attributes_lower_both_sides() -> None:
    """Both sides folded by PostgreSQL's lower(), matching the lower(upn) index exactly."""
    assert where("userPrincipalName eq 'Ann@X.example'") == (
        "lower(people.upn) = lower(%(param_1)s::VARCHAR)"
    )
    assert where("startswith(userPrincipalName, 'AN')") == (
        "lower(people.upn) LIKE lower(%(param_1)s::VARCHAR) ESCAPE '/'"
    )
    assert sql("startswith(userPrincipalName, 'AN')").params == {"param_1": "AN%"}


def test_not_is_pushed_down_so_nulls_follow_odata() -> None:
    """OData is two-valued: `not (displayName eq 'a')` holds for a null displayName, SQL's NOT would not."""
    assert where("not displayName eq 'a'") == "people.display_name IS DISTINCT FROM %(param_1)s::VARCHAR"
    assert where("not displayName ne 'a'") == "people.display_name = %(param_1)s::VARCHAR"
    assert where("not displayName eq null") == "people.display_name IS NOT NULL"
    assert where("not startswith(displayName, 'a')") == (
        "people.display_name IS NULL OR people.display_name NOT LIKE %(param_1)s::VARCHAR ESCAPE '/'"
    )
    assert where("not (age eq 1 or age eq 2)") == (
        "people.age IS DISTINCT FROM %(param_1)s::INTEGER"
        " AND people.age IS DISTINCT FROM %(param_2)s::INTEGER"
    )
    assert where("not not age eq 1") == "people.age = %(param_1)s::INTEGER"


def test_guid_literals_quoted_or_not() -> None:
    for text in (f"id eq {GUID}", f"id eq '{GUID}'", f"id eq '{str(GUID).upper()}'"):
        compiled = sql(text)
        assert compiled.string.endswith("WHERE people.id = %(param_1)s::UUID")
        assert compiled.params == {"param_1": GUID}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("passwordHash eq 'x'", "unknown attribute 'passwordHash'"),
        ("startswith(mail, 'x')", "unknown attribute 'mail'"),
        ("displayName eq 'a' or not passwordHash eq null", "unknown attribute 'passwordHash'"),
        ("accountEnabled eq 'true'", "cannot compare accountEnabled \\(boolean\\) with 'true'"),
        ("accountEnabled eq 1", "cannot compare accountEnabled \\(boolean\\) with 1"),
        ("age eq true", "cannot compare age \\(integer\\) with true"),
        ("age eq '1'", "cannot compare age \\(integer\\) with '1'"),
        ("displayName eq 1", "cannot compare displayName \\(string\\) with 1"),
        (f"displayName eq {GUID}", f"cannot compare displayName \\(string\\) with {GUID}"),
        ("id eq 'not-a-guid'", "id needs a guid, not 'not-a-guid'"),
        ("id eq 42", "cannot compare id \\(guid\\) with 42"),
        ("startswith(age, '1')", "startswith needs a string attribute, not age \\(integer\\)"),
        ("startswith(id, '0f8f')", "startswith needs a string attribute, not id \\(guid\\)"),
    ],
)
def test_compile_errors(text: str, message: str) -> None:
    node = parse_filter(text)
    with pytest.raises(FilterError, match=message):
        compile_filter(node, COLUMNS)


def test_unknown_attribute_message_lists_filterable_ones() -> None:
    listed = "filterable: accountEnabled, age, displayName, id, userPrincipalName"
    with pytest.raises(FilterError, match=listed):
        compile_filter(parse_filter("jobTitle eq 'x'"), COLUMNS)


def test_hostile_value_is_only_a_bound_parameter() -> None:
    text = "displayName eq '" + HOSTILE.replace("'", "''") + "'"
    compiled = sql(text)
    assert compiled.params == {"param_1": HOSTILE}
    assert "OR 1=1" not in compiled.string
    assert "--" not in compiled.string
    with pytest.raises(FilterError, match="expected an attribute at 22, found '1'"):
        parse_filter("displayName eq 'x' or 1 eq 1")
    with pytest.raises(FilterError, match="unexpected '--' at 29"):
        parse_filter("displayName eq 'x' or 1 eq 1 --")


def test_like_metacharacters_are_escaped() -> None:
    assert like_prefix("50%_off/\\x") == "50/%/_off//\\x%"
    assert sql("startswith(displayName, '50%_off')").params == {"param_1": "50/%/_off%"}


# Properties

ATTRS = st.sampled_from(["displayName", "userPrincipalName", "accountEnabled", "id", "age"])
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)
NASTY_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from("'%_/\\\"-;() \t\n"),
        st.characters(exclude_categories=SURROGATES, exclude_characters="\x00"),
    ),
    max_size=20,
)
VALUES = st.one_of(st.none(), st.booleans(), st.integers(-(10**18) + 1, 10**18 - 1), st.uuids(), NASTY_TEXT)
LEAVES = st.one_of(
    st.builds(Compare, ATTRS, st.sampled_from(["eq", "ne"]), VALUES),
    st.builds(StartsWith, ATTRS, NASTY_TEXT),
)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    several = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(And, several), st.builds(Or, several), st.builds(Not, children))


TREES = st.recursive(LEAVES, _extend, max_leaves=8)


def _depth(node: Node) -> int:
    """Tree depth, a bound on the rendered nesting: render adds at most one level per node."""
    if isinstance(node, And | Or):
        return 1 + max(_depth(t) for t in node.terms)
    return 1 + _depth(node.term) if isinstance(node, Not) else 0


@settings(max_examples=200, deadline=None)
@given(TREES)
def test_render_round_trips(node: Node) -> None:
    assume(_depth(node) <= MAX_DEPTH)
    text = render(node)
    assert parse_filter(text) == node
    assert render(parse_filter(text)) == text


def test_render_stays_within_the_nesting_limit() -> None:
    """A nextLink carries render(parse(f)): it must parse again whenever f did."""
    for text in ("not " * MAX_DEPTH + "age eq 1", "(" * MAX_DEPTH + "age eq 1" + ")" * MAX_DEPTH):
        assert parse_filter(render(parse_filter(text))) == parse_filter(text)
    nested = "age eq 1 or age eq 0"
    for i in range(2, MAX_DEPTH + 2):
        nested = f"age eq {i} or ({nested})"
    assert render(parse_filter(nested)) == nested


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_random_text_raises_only_filter_error(text: str) -> None:
    with contextlib.suppress(FilterError):
        compile_filter(parse_filter(text), COLUMNS)


FILTER_ISH = st.lists(
    st.sampled_from(
        [
            "(",
            ")",
            ",",
            "'",
            "''",
            "not",
            "and",
            "or",
            "eq",
            "ne",
            "startswith",
            "null",
            "true",
            "1",
            "-",
            "displayName",
            "age",
            "id",
            f"{GUID}",
            "'a'",
            " ",
            "%",
            "\\",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.one_of(FILTER_ISH, FILTER_ISH.map(lambda s: s.replace("", " ").strip())))
def test_filter_like_text_raises_only_filter_error(text: str) -> None:
    """And whatever parses renders back to text that parses to the same tree."""
    with contextlib.suppress(FilterError):
        node = parse_filter(text)
        assert parse_filter(render(node)) == node
        compile_filter(node, COLUMNS)


def _like_matches(pattern: str, value: str) -> bool:
    """PostgreSQL LIKE with ESCAPE '/', as a reference for the escaping."""
    regex, chars = "", iter(pattern)
    for char in chars:
        if char == LIKE_ESCAPE:
            regex += re.escape(next(chars))
        else:
            regex += {"%": ".*", "_": "."}.get(char, re.escape(char))
    return re.fullmatch(regex, value, re.DOTALL) is not None


@settings(max_examples=200, deadline=None)
@given(NASTY_TEXT, st.sampled_from(["displayName", "userPrincipalName"]))
def test_values_only_ever_bound(value: str, attr: str) -> None:
    """Whatever the value, the SQL text is the one a harmless value gives: the value is only a parameter."""
    quoted = "'" + value.replace("'", "''") + "'"
    for template in ("{} eq {}", "startswith({}, {})", "not {} ne {}", "not startswith({}, {})"):
        compiled, harmless = sql(template.format(attr, quoted)), sql(template.format(attr, "'v'"))
        assert compiled.string == harmless.string
        bound = like_prefix(value) if "startswith" in template else value
        assert compiled.params == {"param_1": bound}


@settings(max_examples=200, deadline=None)
@given(NASTY_TEXT, NASTY_TEXT)
def test_like_pattern_matches_exactly_the_prefixed_strings(prefix: str, other: str) -> None:
    pattern = like_prefix(prefix)
    assert _like_matches(pattern, prefix + other)
    assert _like_matches(pattern, other) == other.startswith(prefix)
