"""Parsing the filter language into clauses: ``clause (AND clause)*``.

A clause is ``field op literal``: ops ``= != < <= > >= LIKE ILIKE``, ``IN (literal, ...)``,
``IS NULL`` and ``IS NOT NULL``. Literals are ``'text'`` (a quote inside is written ``''``),
numbers, ``true``/``false`` and ``null`` (``= null`` means ``IS NULL``). Fields are resolved
later (collector/query/fields.py); here they are only names with a position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from otel_feedback_collector.query.errors import FilterError
from otel_feedback_collector.query.filter_tokens import Token, TokenKind, field_segments, tokenize

COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})


@dataclass(frozen=True)
class Literal:
    """A value written in a filter: str, int, float, bool or None, and where it was written."""

    value: Any
    position: int
    text: str


@dataclass(frozen=True)
class Clause:
    """One ``field op literal`` condition.

    ``op`` is one of ``= != < <= > >= LIKE ILIKE IN IS NULL IS NOT NULL``; ``literals`` holds one
    literal (several for IN, none for the NULL tests).
    """

    field: tuple[str, ...]
    field_text: str
    field_position: int
    op: str
    literals: tuple[Literal, ...]
    op_position: int


def parse_filter(text: str) -> list[Clause]:
    """Parse a filter string; raise ``FilterError`` naming the position of the first mistake."""
    if not isinstance(text, str):
        raise FilterError(f"The filter must be a string; got {type(text).__name__}.")
    return _Parser(tokenize(text)).clauses()


class _Parser:
    def __init__(self, tokens: Sequence[Token]) -> None:
        self._tokens = tokens
        self._index = 0

    def _peek(self) -> Token:
        return self._tokens[self._index]

    def _next(self) -> Token:
        token = self._tokens[self._index]
        if token.kind is not TokenKind.END:
            self._index += 1
        return token

    def clauses(self) -> list[Clause]:
        if self._peek().kind is TokenKind.END:
            return []
        found = [self._clause()]
        while True:
            token = self._next()
            if token.kind is TokenKind.END:
                return found
            if token.kind is TokenKind.KEYWORD and token.value == "AND":
                found.append(self._clause())
                continue
            if token.kind is TokenKind.KEYWORD and token.value == "OR":
                raise _error(token, "OR is not supported; clauses can only be joined with AND (use IN (...) for alternatives)")
            raise _error(token, f"expected AND or the end of the filter, found {token.describe()}")

    def _clause(self) -> Clause:
        field = self._next()
        if field.kind is not TokenKind.FIELD:
            raise _error(field, f"expected a field name (e.g. status, span_type, assessments.<name>), found {field.describe()}")
        op_token = self._next()
        op, literals = self._operation(op_token)
        return Clause(
            field=tuple(field_segments(field)),
            field_text=field.text,
            field_position=field.position,
            op=op,
            literals=literals,
            op_position=op_token.position,
        )

    def _operation(self, token: Token) -> tuple[str, tuple[Literal, ...]]:
        if token.kind is TokenKind.OPERATOR:
            literal = self._literal()
            if literal.value is None:
                if token.value == "=":
                    return "IS NULL", ()
                if token.value == "!=":
                    return "IS NOT NULL", ()
                raise _error(token, f"null can only be compared with = or != (or use IS NULL), not {token.text}")
            return token.value, (literal,)
        if token.kind is TokenKind.KEYWORD:
            if token.value in ("LIKE", "ILIKE"):
                literal = self._literal()
                if not isinstance(literal.value, str):
                    raise FilterError(
                        f"Filter error at position {literal.position}: {token.value} needs a quoted pattern "
                        f"such as '%refund%', found {literal.text!r}."
                    )
                return token.value, (literal,)
            if token.value == "IN":
                return "IN", self._literal_list()
            if token.value == "IS":
                negated = self._peek().kind is TokenKind.KEYWORD and self._peek().value == "NOT"
                if negated:
                    self._next()
                null = self._next()
                if not (null.kind is TokenKind.KEYWORD and null.value == "NULL"):
                    raise _error(null, f"expected NULL after IS{' NOT' if negated else ''}, found {null.describe()}")
                return ("IS NOT NULL" if negated else "IS NULL"), ()
        raise _error(
            token,
            f"expected an operator (= != < <= > >= LIKE ILIKE IN IS NULL) after the field, found {token.describe()}",
        )

    def _literal_list(self) -> tuple[Literal, ...]:
        opening = self._next()
        if opening.kind is not TokenKind.LPAREN:
            raise _error(opening, f"expected ( after IN, found {opening.describe()}")
        literals = [self._literal()]
        while True:
            token = self._next()
            if token.kind is TokenKind.RPAREN:
                break
            if token.kind is not TokenKind.COMMA:
                raise _error(token, f"expected , or ) in the IN list, found {token.describe()}")
            literals.append(self._literal())
        for literal in literals:
            if literal.value is None:
                raise FilterError(
                    f"Filter error at position {literal.position}: null cannot be in an IN list; use IS NULL."
                )
        return tuple(literals)

    def _literal(self) -> Literal:
        token = self._next()
        if token.kind is TokenKind.STRING:
            return Literal(token.value, token.position, token.text)
        if token.kind is TokenKind.NUMBER:
            number: int | float
            try:
                number = int(token.value)
            except ValueError:
                number = float(token.value)
            return Literal(number, token.position, token.text)
        if token.kind is TokenKind.KEYWORD and token.value in ("TRUE", "FALSE", "NULL"):
            value = {"TRUE": True, "FALSE": False, "NULL": None}[token.value]
            return Literal(value, token.position, token.text)
        raise _error(
            token,
            f"expected a value ('text', a number, true, false or null), found {token.describe()}"
            + (" (quote text values: 'LLM')" if token.kind is TokenKind.FIELD else ""),
        )


def _error(token: Token, message: str) -> FilterError:
    return FilterError(f"Filter error at position {token.position}: {message}.")
