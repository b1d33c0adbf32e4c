"""The subset of Google's list-filter grammar (AIP-160) that the Meet API accepts.

    filter      := disjunction { AND disjunction }
    disjunction := term { OR term }
    term        := '(' filter ')' | field op value | field IS NULL
    op          := '=' | '!=' | '<' | '<=' | '>' | '>='
    value       := "double-quoted" | 'single-quoted' | bare-word

As in AIP-160, OR binds tighter than AND: `a AND b OR c` is `a AND (b OR c)`. Keywords are
case-insensitive, whitespace is free, field names are exact (snake_case). NOT and `-`
(negation), `:` (has), functions, unknown fields or operators and malformed timestamps are
rejected (INVALID_ARGUMENT): Meet documents none of them for its list filters.
"""

from __future__ import annotations

import enum
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .timefmt import parse_timestamp


class FilterError(ValueError):
    """The filter text is not valid for this collection."""


class FieldType(enum.Enum):
    TIME = "time"
    TEXT = "text"
    TEXT_CI = "text, case-insensitive"


@dataclass(frozen=True)
class FieldSpec:
    type: FieldType
    nullable: bool = False


CONFERENCE_RECORD_FIELDS: dict[str, FieldSpec] = {
    "space.name": FieldSpec(FieldType.TEXT),
    "space.meeting_code": FieldSpec(FieldType.TEXT_CI),
    "start_time": FieldSpec(FieldType.TIME),
    "end_time": FieldSpec(FieldType.TIME, nullable=True),
}
PARTICIPANT_FIELDS: dict[str, FieldSpec] = {
    "earliest_start_time": FieldSpec(FieldType.TIME),
    "latest_end_time": FieldSpec(FieldType.TIME, nullable=True),
}
SESSION_FIELDS: dict[str, FieldSpec] = {
    "start_time": FieldSpec(FieldType.TIME),
    "end_time": FieldSpec(FieldType.TIME, nullable=True),
}

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>>=|<=|!=|=|<|>)
      | (?P<paren>[()])
      | (?P<word>[^\s()<>=!"']+)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # string | op | paren | word
    text: str


@dataclass(frozen=True)
class Comparison:
    field: str
    op: str  # one of _OPS, or "IS NULL"
    value: Any
    fold_case: bool = False  # compare strings case-insensitively (value is already lower-case)

    def matches(self, record: Mapping[str, Any]) -> bool:
        actual = record.get(self.field)
        if self.op == "IS NULL":
            return actual is None
        if actual is None:
            return False
        if self.fold_case and isinstance(actual, str):
            actual = actual.lower()
        return _OPS[self.op](actual, self.value)


@dataclass(frozen=True)
class AnyOf:
    """A disjunction: at least one of its terms matches."""

    options: tuple[Term, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return any(option.matches(record) for option in self.options)


@dataclass(frozen=True)
class AllOf:
    """A conjunction nested in a disjunction: every one of its terms matches."""

    terms: tuple[Term, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        return all(term.matches(record) for term in self.terms)


Term = Comparison | AnyOf | AllOf


@dataclass(frozen=True)
class Filter:
    """A conjunction of terms; the empty filter matches everything."""

    terms: tuple[Term, ...] = ()

    def matches(self, record: Mapping[str, Any]) -> bool:
        return all(term.matches(record) for term in self.terms)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace left
            break
        pos = m.end()
        kind = m.lastgroup
        if kind == "bad":
            raise FilterError(f"unexpected character {m['bad']!r} at position {m.start('bad')}")
        if kind is not None:
            tokens.append(Token(kind, m[kind]))
    return tokens


def parse_filter(text: str | None, fields: Mapping[str, FieldSpec]) -> Filter:
    if text is None or not text.strip():
        return Filter()
    parser = _Parser(tokenize(text), fields)
    terms = parser.parse_conjunction()
    if parser.peek() is not None:
        raise FilterError(f"unexpected {parser.peek().text!r}")  # type: ignore[union-attr]
    return Filter(tuple(terms))


class _Parser:
    def __init__(self, tokens: list[Token], fields: Mapping[str, FieldSpec]) -> None:
        self._tokens = tokens
        self._pos = 0
        self._fields = fields

    def peek(self) -> Token | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise FilterError(f"unexpected end of filter, expected {expected}")
        self._pos += 1
        return token

    def _keyword(self, token: Token | None, word: str) -> bool:
        return token is not None and token.kind == "word" and token.text.upper() == word

    def parse_conjunction(self) -> list[Term]:
        """The terms ANDed together (nested conjunctions flattened)."""
        terms = self._parse_disjunction()
        while self._keyword(self.peek(), "AND"):
            self._pos += 1
            terms += self._parse_disjunction()
        return terms

    def _parse_disjunction(self) -> list[Term]:
        options = [self._parse_term()]
        while self._keyword(self.peek(), "OR"):
            self._pos += 1
            options.append(self._parse_term())
        if len(options) == 1:
            return options[0]
        return [AnyOf(tuple(o[0] if len(o) == 1 else AllOf(tuple(o)) for o in options))]

    def _parse_term(self) -> list[Term]:
        token = self._next("a field name")
        if token.kind == "paren" and token.text == "(":
            terms = self.parse_conjunction()
            closing = self._next("')'")
            if closing.text != ")":
                raise FilterError(f"expected ')', got {closing.text!r}")
            return terms
        return [self._parse_comparison(token)]

    def _parse_comparison(self, token: Token) -> Comparison:
        if token.kind != "word" or token.text.upper() in ("AND", "OR", "NOT", "IS", "NULL"):
            raise FilterError(f"expected a field name, got {token.text!r}")
        name = token.text
        spec = self._fields.get(name)
        if spec is None:
            allowed = ", ".join(sorted(self._fields))
            raise FilterError(f"unknown field {name!r} (filterable fields: {allowed})")
        op_token = self._next("an operator")
        if self._keyword(op_token, "IS"):
            if not self._keyword(self._next("NULL"), "NULL"):
                raise FilterError(f"expected NULL after {name} IS")
            if not spec.nullable:
                raise FilterError(f"{name} cannot be NULL")
            return Comparison(name, "IS NULL", None)
        if op_token.kind != "op":
            raise FilterError(f"expected an operator after {name!r}, got {op_token.text!r}")
        value_token = self._next("a value")
        if value_token.kind not in ("string", "word") or self._keyword(value_token, "NULL"):
            raise FilterError(f"expected a value after {name} {op_token.text}, got {value_token.text!r}")
        value = _convert(name, spec, op_token.text, value_token)
        return Comparison(name, op_token.text, value, fold_case=spec.type is FieldType.TEXT_CI)


def _convert(name: str, spec: FieldSpec, op: str, token: Token) -> datetime | str:
    raw = _unquote(token.text) if token.kind == "string" else token.text
    if spec.type is FieldType.TIME:
        try:
            return parse_timestamp(raw)
        except ValueError:
            raise FilterError(f"invalid timestamp for {name}: {raw!r}") from None
    if op not in ("=", "!="):
        raise FilterError(f"operator {op} is not supported for {name}")
    return raw.lower() if spec.type is FieldType.TEXT_CI else raw


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)
