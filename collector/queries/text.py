"""Text search over spans' input and output (``q=`` of the trace list).

The match is a case-insensitive substring of the input or the output. Scanning every
span's text is the cost, so migration 0012 keeps a token bloom filter over
``lowerUTF8(concat(input, ' ', output))``: a granule is read only when it may contain every
*whole* word of the needle. A word at either end of the needle may be part of a longer
word in the text (``onfig`` matches ``configure``), so only words with a separator on both
sides inside the needle are tested; a needle with none (one bare word) is still answered,
by the scan, as are non-ASCII words.
"""

from __future__ import annotations

import re
from collections.abc import Callable

INDEXED_TEXT = "lowerUTF8(concat(input, ' ', output))"
"""The expression migration 0012 indexes (tokenbf_v1); queries must repeat it exactly."""

# ClickHouse's token separators: every ASCII character that is not a letter or a digit
# (bytes >= 0x80, so non-ASCII letters, are part of tokens).
_SEPARATOR = re.compile(r"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+")


def whole_words(needle: str) -> list[str]:
    """Lower-cased tokens of ``needle`` that any text containing it holds as whole tokens:
    those with a separator on both sides within the needle."""
    parts = _SEPARATOR.split(needle.lower())
    # parts[0] and parts[-1] touch the needle's ends ('' when the needle starts or ends
    # with a separator, so a real word next to it is then inside).
    # ASCII words only: lower-casing non-ASCII text in Python and in ClickHouse may differ,
    # and a word lower-cased differently would skip granules that match.
    return sorted({w for w in parts[1:-1] if w and w.isascii()})


def text_condition(needle: str, param: Callable[[object, str], str]) -> str:
    """SQL true for spans whose input or output contains ``needle`` (case-insensitive);
    ``param(value, type)`` binds a value and returns its placeholder."""
    bound = param(needle, "String")
    exact = (f"(positionCaseInsensitiveUTF8(input, {bound}) > 0 "
             f"OR positionCaseInsensitiveUTF8(output, {bound}) > 0)")
    words = whole_words(needle)
    if not words:
        return exact
    skip = " AND ".join(f"hasToken({INDEXED_TEXT}, {param(w, 'String')})" for w in words)
    return f"({skip} AND {exact})"
