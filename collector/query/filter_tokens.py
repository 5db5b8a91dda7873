"""Splitting a filter string into tokens, each with the position it started at.

The tokenizer knows nothing about fields or SQL: it turns ``assessments.user_feedback = false``
into words, operators, literals and punctuation so the parser can point at the exact token that
is wrong ("at position 24: ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from otel_feedback_collector.query.errors import FilterError


class TokenKind(str, Enum):
    """What a token is."""

    FIELD = "field"
    KEYWORD = "keyword"
    OPERATOR = "operator"
    STRING = "string"
    NUMBER = "number"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    END = "end"


KEYWORDS = frozenset({"AND", "OR", "NOT", "LIKE", "ILIKE", "IN", "IS", "NULL", "TRUE", "FALSE"})


@dataclass(frozen=True)
class Token:
    """One token: its kind, its value (keywords upper-cased, strings unescaped) and position."""

    kind: TokenKind
    value: str
    position: int
    text: str

    def describe(self) -> str:
        """How to name this token in an error message."""
        return "the end of the filter" if self.kind is TokenKind.END else repr(self.text)


# A field is dot-separated segments; a segment is a plain name or a `backtick-quoted` name
# (for assessment names and metadata keys with spaces or other characters).
_SEGMENT = r"(?:[A-Za-z_][A-Za-z0-9_\-]*|`[^`]+`)"
_PATTERNS = [
    (TokenKind.STRING, re.compile(r"'(?:[^']|'')*'")),
    (TokenKind.NUMBER, re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z0-9_])")),
    (TokenKind.OPERATOR, re.compile(r"<=|>=|!=|<>|=|<|>")),
    (TokenKind.FIELD, re.compile(rf"{_SEGMENT}(?:\.(?:{_SEGMENT}|[A-Za-z0-9_\-]+))*")),
    (TokenKind.LPAREN, re.compile(r"\(")),
    (TokenKind.RPAREN, re.compile(r"\)")),
    (TokenKind.COMMA, re.compile(r",")),
]
_SPACE = re.compile(r"\s+")


def tokenize(text: str) -> list[Token]:
    """Return the tokens of ``text``, ending with an END token; raise ``FilterError`` on junk."""
    tokens: list[Token] = []
    position = 0
    length = len(text)
    while True:
        space = _SPACE.match(text, position)
        if space:
            position = space.end()
        if position >= length:
            tokens.append(Token(TokenKind.END, "", position, ""))
            return tokens
        for kind, pattern in _PATTERNS:
            match = pattern.match(text, position)
            if match:
                raw = match.group(0)
                tokens.append(_token(kind, raw, position))
                position = match.end()
                break
        else:
            if text[position] == "'":
                raise FilterError(
                    f"Filter error at position {position}: the string starting here has no closing quote "
                    "(write a quote inside a string as two quotes: 'it''s')."
                )
            raise FilterError(
                f"Filter error at position {position}: unexpected character {text[position]!r}. "
                "A filter is `field op value` clauses joined by AND, e.g. "
                "assessments.user_feedback = false AND span_type = 'LLM'."
            )


def _token(kind: TokenKind, raw: str, position: int) -> Token:
    if kind is TokenKind.STRING:
        return Token(kind, raw[1:-1].replace("''", "'"), position, raw)
    if kind is TokenKind.OPERATOR:
        return Token(kind, "!=" if raw == "<>" else raw, position, raw)
    if kind is TokenKind.FIELD and raw.upper() in KEYWORDS:
        return Token(TokenKind.KEYWORD, raw.upper(), position, raw)
    return Token(kind, raw, position, raw)


def field_segments(token: Token) -> list[str]:
    """The dot-separated parts of a field token, with backticks removed."""
    parts = re.findall(rf"{_SEGMENT}|[A-Za-z0-9_\-]+", token.value)
    return [part[1:-1] if part.startswith("`") else part for part in parts]
