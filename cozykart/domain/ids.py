"""Record ids and whole numbers as clients send them.

A client sends text ("12") or a number; what is accepted is ASCII digits only
(`"٣"` and `"1_000"` are not ids) and nothing above `SAFE_INTEGER_MAX`, which a
browser carries exactly and SQLite and PostgreSQL both store.
"""

from __future__ import annotations

# JavaScript's Number.MAX_SAFE_INTEGER, and well inside a 64-bit column.
SAFE_INTEGER_MAX = 2**53 - 1
SAFE_INTEGER_DIGITS_MAX = len(str(SAFE_INTEGER_MAX))
# A Discord id (a snowflake): a 64-bit unsigned integer has at most 20 decimal digits.
SNOWFLAKE_LENGTH_MAX = 20


def parse_whole_number(raw: object) -> int | None:
    """A whole number 0..SAFE_INTEGER_MAX from an int or ASCII digits, else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip()
        if not (text.isascii() and text.isdigit() and len(text) <= SAFE_INTEGER_DIGITS_MAX):
            return None
        value = int(text)
    return value if 0 <= value <= SAFE_INTEGER_MAX else None


def parse_record_id(raw: object) -> int | None:
    """A record id (1..SAFE_INTEGER_MAX) from what a client sent, else None."""
    value = parse_whole_number(raw)
    return value if value else None
