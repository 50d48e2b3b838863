"""Clicking through the confirmation dialog (`cozykart/ui/confirm.py`) in a browser test."""

from __future__ import annotations

DIALOG_TIMEOUT_MS = 30_000


def click_and_confirm(page, button, *, timeout_ms: int = DIALOG_TIMEOUT_MS) -> None:
    """Click `button`, then the dialog's "confirm-yes" once the dialog it opens is shown."""
    from playwright.sync_api import expect

    button.click()
    yes = page.get_by_test_id("confirm-yes")
    expect(yes).to_be_visible(timeout=timeout_ms)
    yes.click()
    expect(page.get_by_test_id("confirm-dialog")).to_have_count(0, timeout=timeout_ms)
