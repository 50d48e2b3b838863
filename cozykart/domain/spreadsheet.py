"""Text that goes into a CSV a person opens in a spreadsheet."""

from __future__ import annotations

from cozykart.domain.money import CENTS_PER_UNIT

# A spreadsheet runs a cell that starts with one of these as a formula; fan and racer names are typed by strangers.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(text: str) -> str:
    """`text` as a cell a spreadsheet shows as text, never runs: a leading formula character is quoted."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def decimal_amount(amount_cents: int) -> str:
    """Cents as a plain decimal a spreadsheet sums: 123456 -> "1234.56", -105 -> "-1.05"."""
    sign = "-" if amount_cents < 0 else ""
    units, cents = divmod(abs(amount_cents), CENTS_PER_UNIT)
    return f"{sign}{units}.{cents:02d}"
