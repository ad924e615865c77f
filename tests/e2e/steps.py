"""Steps the browser tests share: signing in and out through the real forms."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from tests.factories import PASSWORD


def _no_check(page: Page) -> None:
    """For tests outside the journeys, which run axe where they choose."""


def sign_in(
    page: Page, base: str, email: str, *, check: Callable[[Page], None] = _no_check, password: str = PASSWORD
) -> None:
    page.goto(base + "/login")
    check(page)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My tasks")).to_be_visible()
    check(page)


def sign_out(page: Page, *, check: Callable[[Page], None] = _no_check) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    check(page)


def main_nav(page: Page):
    """The site's main navigation, where every feature's link is."""
    return page.get_by_role("navigation", name="Main")
