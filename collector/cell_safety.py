"""Making stored text safe to print: on a terminal, and in a spreadsheet.

Span values are written by whoever can send telemetry, so a value may carry terminal escape
sequences (ESC [2J clears the screen, OSC 8 forges a link, CR overwrites the line shown) or a
spreadsheet formula (``=HYPERLINK(...)``, ``@SUM(...)``) that runs when a CSV is opened.
"""

from __future__ import annotations

import re

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# C0 controls, DEL, C1 controls, and the Unicode marks that reorder text shown after them.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# OWASP's list for CSV injection: a cell starting with one of these is read as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``, ``\\r``)."""
    return _CONTROLS.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


# What json.dumps(ensure_ascii=False) leaves raw although a terminal may act on it.
_JSON_RAW_CONTROLS = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_json_controls(json_text: str) -> str:
    """JSON text with DEL, C1 controls and reordering marks written as ``\\uXXXX`` escapes
    (json.dumps already escapes C0 controls; these can only occur inside strings)."""
    return _JSON_RAW_CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", json_text)


def defuse_formula(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    return "'" + text if text.startswith(_FORMULA_START) else text
