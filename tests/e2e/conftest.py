"""Browser journeys: the app served by a real server on 127.0.0.1, driven by Debian's Chromium.

Every test in this folder is marked `e2e`. When Chromium is missing the tests are skipped with a
loud reason — except when CI=true, where that is a failure.

The journeys open their pages through the `journey` fixture: every document a page loads must be
checked (`journey.check(page)`) before the page moves on — axe-core, no horizontal scrolling and,
on the phone screen, touch targets — or the test fails and names the page that was not checked.
The HTML of every checked page is kept, as the server sent it and as the browser holds it after
its scripts ran, and each test worker hands all of them to the Nu HTML checker at its end (the
`validated_pages` fixture): an error there fails the run, naming the page, the test and the line.
The app's Content-Security-Policy stays in force in every browser context: axe is handed to the
page through the DevTools protocol, which the policy does not govern, so no test loosens it.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Response
from werkzeug.serving import make_server

from mel_app.extensions import db
from tests.conftest import E2E_ARTIFACTS, IN_CI
from tests.validation import Document, failure, missing_tools, vnu

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
ARTIFACTS = E2E_ARTIFACTS
TOUCH_TARGET_PX = 44
FAILED = pytest.StashKey[bool]()


@dataclass(frozen=True)
class Screen:
    """How a person sees the app: the browser context's settings, and what is checked on it."""

    name: str
    context_args: dict[str, Any] = field(default_factory=dict)
    touch: bool = False  # checks 44 px touch targets

    @property
    def javascript(self) -> bool:
        return self.context_args.get("java_script_enabled", True)


SCREENS = {
    "desktop": Screen("desktop", {"viewport": {"width": 1280, "height": 800}}),
    "phone": Screen(
        "phone",
        {
            "viewport": {"width": 360, "height": 740},
            "device_scale_factor": 2,
            "is_mobile": True,
            "has_touch": True,
        },
        touch=True,
    ),
    "no-js": Screen("no-js", {"viewport": {"width": 1280, "height": 800}, "java_script_enabled": False}),
}


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


def pytest_collection_finish(session):
    # The folder holds the evidence of this run only, so that what CI lists is what just failed.
    # With parallel workers the first one empties it: every worker collects the same tests, and
    # none runs a test before all have collected, so no evidence of this run is lost.
    workerinput = getattr(session.config, "workerinput", None)
    first = workerinput is None or workerinput["workerid"] == "gw0"
    if first and any(item.get_closest_marker("e2e") for item in session.items):
        shutil.rmtree(ARTIFACTS, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _chromium_available(request):
    if any(item.get_closest_marker("e2e") for item in request.session.items) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} is missing and CI=true: the browser tests must run.")
        pytest.skip(f"!!! {CHROMIUM} is missing: browser tests skipped (run `make chromium`).")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def live_server(app):
    """Serve the test's app (and its database) from a real HTTP server in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
    with app.app_context():
        db.session.remove()


# --- Failure evidence ---------------------------------------------------------------------------


def _open_pages(item) -> list[Page]:
    """Every page the test still has open, in every context (the test's contexts are still open)."""
    browser = getattr(item, "funcargs", {}).get("browser")
    if browser is None:
        page = getattr(item, "funcargs", {}).get("page")
        return [page] if page is not None else []
    return [page for context in browser.contexts for page in context.pages if page.url != "about:blank"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, keep a screenshot and the HTML of every open page where CI prints them."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[FAILED] = report.failed
    if report.when != "call" or not report.failed:
        return
    pages = _open_pages(item)
    if not pages:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS / item.nodeid.replace("/", "_").replace("::", "__")
    kept = []
    for number, page in enumerate(pages, start=1):
        name = f"{stem}" if len(pages) == 1 else f"{stem}-page{number}"
        try:
            page.screenshot(path=f"{name}.png", full_page=True)
            Path(f"{name}.html").write_text(page.content())
            kept.append(f"{name}.png ({page.url})")
        except Exception as exc:  # a closed page must not hide the failure itself
            kept.append(f"could not keep {page.url}: {exc}")
    report.sections.append(("e2e evidence", "\n".join(kept)))
    print("\n[e2e] failure evidence kept:\n  " + "\n  ".join(kept))


# --- Checks on every page ------------------------------------------------------------------------

# Height of every visible interactive control, as the person touches it. Controls are buttons,
# inputs, selects, textareas, summaries, and the links that stand as controls of their own: in a
# navigation landmark, directly in a form (beside its buttons), in an action bar or pagination,
# or styled as a button. A checkbox or radio button is touched through its label too, so its
# target is the box and its labels together. Links inside running text — a sentence, a list
# item, a table cell, a paragraph of a form — are exempt, as WCAG 2.5.8 exempts inline targets;
# axe's target-size rule (24 px or spacing) still covers them. Elements moved off-screen until
# they take the focus (the skip link) are not visible, so not measured.
SMALL_TARGETS = """(minimum) => {
  const selector = 'button, input:not([type=hidden]), select, textarea, summary, '
    + 'nav a[href], form > a[href], .actions a[href], .pagination a[href], a.button';
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || el.closest('[hidden], [inert]')) continue;
    let box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (box.right <= 0 || box.bottom <= 0) continue;
    if (el.type === 'checkbox' || el.type === 'radio') {
      let top = box.top, bottom = box.bottom;
      for (const label of el.labels || []) {
        const r = label.getBoundingClientRect();
        top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom);
      }
      box = {height: bottom - top};
    }
    if (box.height + 0.5 < minimum) {
      const name = (el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent)
        || el.textContent || el.value || el.name || '').trim().replace(/\\s+/g, ' ').slice(0, 60);
      small.push(`${el.tagName.toLowerCase()}${el.type ? '[type=' + el.type + ']' : ''} "${name}": `
        + `${Math.round(box.height)} px`);
    }
  }
  return small;
}"""

HORIZONTAL_OVERFLOW = """() => {
  const root = document.documentElement;
  if (root.scrollWidth <= Math.min(root.clientWidth, window.innerWidth)) return null;
  // Name what sticks out and is not inside a scrolling box, so the failure says what to fix.
  const scrolls = el => el !== root && el !== document.body && getComputedStyle(el).overflowX !== 'visible';
  // An absolutely positioned element is clipped by a scrolling box only when that box, or
  // something inside it, is positioned (its containing block).
  const clipped = el => {
    let contained = getComputedStyle(el).position !== 'absolute';
    for (let up = el.parentElement; up; up = up.parentElement) {
      if (!contained && getComputedStyle(up).position !== 'static') contained = true;
      if (contained && scrolls(up)) return true;
    }
    return false;
  };
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const right = el.getBoundingClientRect().right;
    if (right <= root.clientWidth + 0.5 || clipped(el)) continue;
    const classes = typeof el.className === 'string' && el.className
      ? '.' + el.className.split(' ').join('.') : '';
    const id = el.id ? '#' + el.id : '';
    wide.push(`${el.tagName.toLowerCase()}${id}${classes} (right edge ${Math.round(right)} px)`);
    if (wide.length === 6) break;
  }
  return {scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, innerWidth: window.innerWidth, wide};
}"""


@functools.cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def run_axe(page: Page) -> dict:
    """axe-core (WCAG 2.0–2.2 A/AA); fails on serious or critical violations. Needs JavaScript."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    # Only violations are reported: building the passes' details would double the time.
    results = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: tags, resultTypes: ['violations']})", AXE_TAGS
    )
    bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"accessibility violations on {page.url}:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in bad
    )
    return results


def check_layout(page: Page, *, touch: bool) -> None:
    """No horizontal scrolling; on touch screens, interactive controls at least 44 px tall."""
    overflow = page.evaluate(HORIZONTAL_OVERFLOW)
    assert overflow is None, f"the page scrolls sideways on {page.url}: {overflow}"
    if touch:
        small = page.evaluate(SMALL_TARGETS, TOUCH_TARGET_PX)
        assert not small, f"controls smaller than {TOUCH_TARGET_PX} px on {page.url}:\n- " + "\n- ".join(
            small
        )


class Journey:
    """The pages of the people in one journey, on one screen; every document they load is checked."""

    def __init__(self, new_context, screen: Screen, pages: ValidatedPages | None = None, test: str = ""):
        self.screen = screen
        self._new_context = new_context
        self._pages = pages
        self._test = test
        self._documents: dict[Page, list[str]] = {}
        self._checked: dict[Page, set[int]] = {}

    def open(self, **context_args: Any) -> Page:
        """A page in a context of its own: one person, signed in separately from the others."""
        page = self._new_context(**self.screen.context_args, **context_args).new_page()
        documents = self._documents[page] = []
        self._checked[page] = set()
        # One event per new document; moving to an #anchor of the same document is not one.
        page.on("domcontentloaded", lambda p: documents.append(p.url))
        return page

    def check(self, page: Page) -> None:
        """Check the document the page shows now (axe, layout), once it has loaded."""
        page.wait_for_load_state("load")
        documents, checked = self._documents[page], self._checked[page]
        current = len(documents) - 1
        missed = [url for i, url in enumerate(documents[:current]) if i not in checked]
        assert not missed, f"pages left without their checks (call journey.check after each step): {missed}"
        if current in checked:
            return
        # A template's markup leaking into the tab's title (RCDATA: shown as text) is a bug.
        assert "<" not in page.title(), f"markup in the title of {page.url}: {page.title()!r}"
        if self.screen.javascript:
            run_axe(page)
        # Without JavaScript axe cannot run (its timers never fire); the server sends the same
        # HTML either way, so the other screens' runs cover these documents.
        check_layout(page, touch=self.screen.touch)
        if self._pages is not None:
            self._pages.keep(page, f"{self.screen.name} screen", self._test)
        checked.add(current)

    def unchecked(self) -> list[str]:
        return [
            url
            for page, documents in self._documents.items()
            for i, url in enumerate(documents)
            if i not in self._checked[page]
        ]


@pytest.fixture
def screen(request) -> Screen:
    """The screen of a journey: `desktop` unless the test is parametrized with another."""
    return SCREENS[getattr(request, "param", "desktop")]


@pytest.fixture
def journey(new_context, screen, request, validated_pages) -> Iterator[Journey]:
    j = Journey(new_context, screen, validated_pages, request.node.nodeid)
    yield j
    if not request.node.stash.get(FAILED, False):
        assert not j.unchecked(), f"pages the journey opened but never checked: {j.unchecked()}"


@pytest.fixture
def axe_check(validated_pages, request):
    """axe-core on the page as it is now (for the tests outside the journeys)."""

    def check(page: Page) -> dict:
        results = run_axe(page)
        validated_pages.keep(page, "desktop screen", request.node.nodeid)
        return results

    return check


# --- The Nu HTML checker on every page the browser tests check ---------------------------------


@pytest.fixture
def new_context(new_context, validated_pages):
    """pytest-playwright's contexts, each noting the document responses of its pages."""

    def make(**kwargs: Any) -> BrowserContext:
        context = new_context(**kwargs)
        context.on("response", validated_pages.note_response)
        return context

    return make


class ValidatedPages:
    """The pages this test worker's browser tests checked, for vnu at the worker's end."""

    def __init__(self) -> None:
        self.documents: list[Document] = []
        self._responses: dict[Page, Response] = {}

    def note_response(self, response: Response) -> None:
        if response.request.resource_type != "document":
            return
        frame = response.frame
        if frame.parent_frame is None:
            self._responses[frame.page] = response

    def keep(self, page: Page, who: str, test: str) -> None:
        """The page's HTML as the server sent it, and as it is now that its scripts ran."""
        url = page.url
        response = self._responses.get(page)
        if response is not None and response.url.split("#")[0] == url.split("#")[0]:
            html = "text/html" in (response.header_value("content-type") or "")
            try:
                sent = response.text() if html else None
            except Exception:  # the browser no longer holds the body: the page's DOM still counts
                sent = None
            if sent is not None:
                self.documents.append(Document(url, f"{who}, as sent", sent, test))
        self.documents.append(Document(url, f"{who}, after its scripts", page.content(), test))


@pytest.fixture(scope="session")
def validated_pages(pytestconfig) -> Iterator[ValidatedPages]:
    """At the end of the worker's session, vnu checks every page kept; an error fails the run."""
    pages = ValidatedPages()
    yield pages
    if not pages.documents:
        return
    missing = missing_tools()
    if missing:
        message = "the Nu HTML checker cannot run: missing " + "; ".join(missing)
        assert not IN_CI, message + " — CI=true requires it."
        print(f"\n!!! {message}: the pages of the browser tests were not validated.")
        return
    errors, _warnings = vnu(pages.documents)
    worker = getattr(pytestconfig, "workerinput", {}).get("workerid", "main")
    if errors:
        pytest.fail(
            "The Nu HTML checker (vnu) found errors on the pages this worker's browser tests opened "
            "(run them alone: `make validate`).\n"
            + failure(f"journey-pages-{worker}", {"vnu errors": errors}),
            pytrace=False,
        )
