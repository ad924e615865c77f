"""Browser journeys: the app served by a real server on 127.0.0.1, driven by Debian's Chromium.

Every test in this folder is marked `e2e`. When Chromium is missing the tests are skipped with a
loud reason — except when CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from mel_app.extensions import db

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
ARTIFACTS = Path(os.environ.get("E2E_ARTIFACTS", "test-artifacts/e2e")).resolve()


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


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


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, keep a screenshot and the page's HTML where CI prints them (the page is still open)."""
    outcome = yield
    report = outcome.get_result()
    page = getattr(item, "funcargs", {}).get("page")
    if report.when != "call" or not report.failed or page is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    stem = ARTIFACTS / item.nodeid.replace("/", "_").replace("::", "__")
    try:
        page.screenshot(path=f"{stem}.png", full_page=True)
        Path(f"{stem}.html").write_text(page.content())
        report.sections.append(("e2e evidence", f"kept {stem}.png and {stem}.html"))
        print(f"\n[e2e] failure evidence kept: {stem}.png and {stem}.html")
    except Exception as exc:  # the page may be gone; the failure itself is what matters
        print(f"\n[e2e] could not keep failure evidence: {exc}")


@pytest.fixture
def axe_check():
    """Run axe-core (WCAG 2.1 A/AA) on the page; fail on serious or critical violations."""

    def check(page):
        page.add_script_tag(path=str(AXE))
        results = page.evaluate(
            "async () => await axe.run(document, {runOnly: ['wcag2a','wcag2aa','wcag21a','wcag21aa']})"
        )
        bad = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, (
            "accessibility violations on "
            + page.url
            + ":\n"
            + "\n".join(
                f"- {v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}"
                for v in bad
            )
        )
        return results

    return check


@pytest.fixture
def browser_context_args(browser_context_args):
    # axe is injected as a script, which the app's strict CSP rightly blocks: bypass it in tests only.
    return {**browser_context_args, "bypass_csp": True}
