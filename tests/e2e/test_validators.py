"""Clean validators: no error from the Nu HTML checker nor from pa11y on any page of the demo.

The demo data is loaded, and every demo account (and a visitor who is not signed in) walks the
app from its home page, following every same-site link as tests/test_no_dead_ends.py does. The
HTML of every page reached goes to the Nu HTML checker (vnu) in one run. pa11y checks, for each
account, one page of each kind it reached (the same path with other numbers is the same kind)
against WCAG 2 AA in Chromium, signed in as that account — except where another account's page of
that kind had the same markup in its main part (other words and numbers only): that one was
checked already. Each account's first page, with its own navigation, is always checked. The
pages the other browser tests open are checked by vnu too (tests/e2e/conftest.py), in every state
they reach.

Run alone: `make validate` (or `pytest -p no:xdist tests/e2e/test_validators.py`).
"""

from __future__ import annotations

import hashlib
import re
import time

import pytest

from mel_app.demo import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.crawl import pattern, walk
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.validation import Document, Pa11yGroup, failure, pa11y, report, require_tools, vnu

VISITOR = "visitor (not signed in)"


def _walk(client, start: str) -> list[tuple[str, str]]:
    """(path, HTML) of every HTML page reached from `start` by following same-site links."""
    return [
        (url, response.get_data(as_text=True))
        for url, response, _found_on in walk(client, start)
        if response.status_code == 200 and response.mimetype == "text/html"
    ]


def _kind(path: str) -> str:
    return pattern(path) + ("?" if "?" in path else "")


def _one_per_kind(pages: list[tuple[str, str]], shapes: set[str]) -> list[str]:
    """The account's first page (its navigation is the account's own), then the first page of
    each kind whose main part has a shape no other account's page checked had: the same markup
    with other words and numbers is checked once."""
    kinds: dict[str, str] = {}
    for number, (path, html) in enumerate(pages):
        if _kind(path) in kinds:
            continue
        shape = _shape(html)
        kinds[_kind(path)] = path if number == 0 or shape not in shapes else ""
        shapes.add(shape)
    return [path for path in kinds.values() if path]


MAIN = re.compile(r"<main\b.*</main>", re.S)


def _shape(html: str) -> str:
    """The markup of the page's main part without its words, numbers and field values: what
    pa11y's rules read there (elements, attributes, classes; whether an element holds text)."""
    found = MAIN.search(html)
    markup = re.sub(r">[^<]*\S[^<]*<", ">T<", found.group(0) if found else html)
    markup = re.sub(r'\svalue="[^"]*"', "", markup)
    return hashlib.sha256(re.sub(r"\d+", "N", markup).encode()).hexdigest()


def test_every_page_of_every_demo_account_passes_vnu_and_pa11y(app, demo, live_server, login, capsys):
    require_tools()
    started = time.monotonic()
    walks: dict[str, list[tuple[str, str]]] = {}
    cookies: dict[str, list[dict]] = {}
    host = live_server.split("//")[1].split(":")[0]
    for who in [VISITOR, *(account[0] for account in DEMO_ACCOUNTS)]:
        client = app.test_client()
        if who == VISITOR:
            walks[who] = _walk(client, "/login")
        else:
            login(who, DEMO_PASSWORD, on=client)
            walks[who] = _walk(client, "/")
        assert len(walks[who]) > 1, f"the walk as {who} should reach the pages linked from its first page"
        cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
        cookies[who] = (
            [{"name": cookie.key, "value": cookie.value, "domain": host, "path": "/"}] if cookie else []
        )
    documents = [
        Document(live_server + path, who, html) for who, pages in walks.items() for path, html in pages
    ]
    shapes: set[str] = set()
    groups = [
        Pa11yGroup(who, [live_server + path for path in _one_per_kind(pages, shapes)], cookies[who])
        for who, pages in walks.items()
    ]
    walked = time.monotonic()
    errors, warnings = vnu(documents)
    checked = time.monotonic()
    accessibility = pa11y(groups, chromium=CHROMIUM, args=CHROMIUM_ARGS)
    done = time.monotonic()
    with capsys.disabled():
        print(
            f"\n[validators] {len(documents)} pages walked in {walked - started:.1f} s; vnu in "
            f"{checked - walked:.1f} s ({len(warnings)} warnings); pa11y on "
            f"{sum(len(g.urls) for g in groups)} pages in {done - checked:.1f} s"
        )
        if warnings:  # may stay; shown where the output is (a run without parallel workers)
            print(report("vnu warnings", warnings, places=2))
    if errors or accessibility:
        pytest.fail(
            failure(
                "demo-pages",
                {"Nu HTML checker (vnu) errors": errors, "pa11y (WCAG 2 AA) errors": accessibility},
            ),
            pytrace=False,
        )
