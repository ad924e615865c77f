"""What the status grid, the evaluations and the ILO's responses to design input show through the
API, compared with what the same person's pages show (read from their HTML)."""

from __future__ import annotations

import html
import re

from babel.numbers import format_decimal

from tests.api.helpers import bearer


def _api(client, secret: str, url: str, **params) -> dict:
    resp = client.get(url, headers=bearer(secret), query_string=params or None)
    assert resp.status_code == 200, (url, resp.get_data(as_text=True))
    return resp.json


def _all(client, secret: str, url: str, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        body = _api(client, secret, url, **params, **({"cursor": cursor} if cursor else {}))
        items += body["items"]
        cursor = body.get("next_cursor")
        if not cursor:
            return items


def _page(browser, url: str) -> str:
    resp = browser.get(url)
    assert resp.status_code == 200, url
    return resp.get_data(as_text=True)


def _section(page: str, start: str, end: str) -> str | None:
    """The HTML from `start` to the next `end`, or None when the page has no `start`."""
    at = page.find(start)
    return None if at < 0 else page[at : page.index(end, at)]


# --- the status grid --------------------------------------------------------------------------------


def _grid_on_page(page: str) -> list[tuple[str, list[tuple[str, int | None]]]]:
    """Each row of the page's status grid: the organisation, and each cell's state and link."""
    table = _section(page, '<table class="status-grid">', "</table>")
    if table is None:
        return []
    rows = re.findall(r'<th scope="row">(.*?) <span class="hint">.*?</th>(.*?)</tr>', table, re.S)
    return [
        (
            html.unescape(name),
            [
                (status, int(link) if link else None)
                for status, link in re.findall(
                    r'<td class="status-cell status-(\w+)">\s*(?:<a href="/submissions/(\d+)">)?', cells
                )
            ],
        )
        for name, cells in rows
    ]


def assert_status_grid_as_on_the_page(client, browser, secret: str, project_id: int, page: str) -> None:
    grid = _api(client, secret, f"/api/v1/projects/{project_id}/status-grid")
    shown = [
        (row["organisation"]["name"], [(c["status"], c["submission_id"]) for c in row["cells"]])
        for row in grid["rows"]
    ]
    # The page shows no table without periods (the API gives the rows, with no cells).
    assert _grid_on_page(page) == (shown if grid["periods"] else []), project_id


# --- evaluations -----------------------------------------------------------------------------------


def _stats_on_page(results_page: str) -> dict[str, list[tuple[str, str]]]:
    """Per criterion code: (n, mean) of all groups, then of each group, as the table shows them."""
    return {
        code: re.findall(
            r'<td headers="stats-n [^"]*">(\d+)</td><td headers="stats-mean [^"]*">([^<]*)</td>', body
        )
        for code, body in re.findall(r'<tbody id="criterion-(\w+)"[^>]*>(.*?)</tbody>', results_page, re.S)
    }


def _mean(value: float | None) -> str:
    return "–" if value is None else format_decimal(value, format="0.00", locale="en")


def _assert_results_as_on_their_page(browser, evaluation: dict) -> None:
    page = _page(browser, f"/evaluations/{evaluation['id']}/results")
    results = evaluation["results"]
    # Without a submitted scorecard the page has no table (the API gives each criterion, n = 0).
    expected = {
        c["code"]: [(str(s["n"]), _mean(s["mean"])) for s in [c["overall"], *c["groups"]]]
        for c in results["criteria"]
    }
    assert _stats_on_page(page) == (expected if results["groups"] else {}), evaluation["id"]
    cards = {int(n) for n in re.findall(rf'href="/evaluations/{evaluation["id"]}/scorecards/(\d+)"', page)}
    if results["individuals"] is None:
        assert 'id="individual-heading"' not in page and not cards, evaluation["id"]
    else:
        assert cards == {card["scorecard_id"] for card in results["individuals"]}, evaluation["id"]


def _assert_evaluation_as_on_its_page(client, browser, secret: str, evaluation_id: int) -> None:
    evaluation = _api(client, secret, f"/api/v1/evaluations/{evaluation_id}")
    page = _page(browser, f"/evaluations/{evaluation_id}")
    shows_results = f'href="/evaluations/{evaluation_id}/results"' in page
    assert shows_results == (evaluation["results"] is not None), evaluation_id
    scorers = _section(page, 'id="scorers-heading"', "</table>")
    if not evaluation["scorecards"]:
        assert scorers is None, evaluation_id
    else:
        assert scorers.count("<tr>") - 1 == len(evaluation["scorecards"]), evaluation_id
        assert all(html.escape(card["scorer"]) in scorers for card in evaluation["scorecards"])
    recommendations = _section(page, 'id="recommendations"', "</section>")
    if evaluation["recommendations"] is None:
        assert recommendations is None, evaluation_id
    else:
        assert recommendations.count("<li>") == len(evaluation["recommendations"]), evaluation_id
        assert all(html.escape(r["text"]) in recommendations for r in evaluation["recommendations"])
    if evaluation["results"] is not None:
        _assert_results_as_on_their_page(browser, evaluation)


def assert_evaluations_as_on_the_pages(client, browser, secret: str) -> None:
    listed = [e["id"] for e in _all(client, secret, "/api/v1/evaluations")]
    on_page = {int(n) for n in re.findall(r'href="/evaluations/(\d+)"', _page(browser, "/evaluations"))}
    assert set(listed) == on_page
    for evaluation_id in listed:
        _assert_evaluation_as_on_its_page(client, browser, secret, evaluation_id)


# --- the ILO's responses to design input --------------------------------------------------------------


def _responses_on_page(page: str) -> list[str]:
    return [
        html.unescape(reason)
        for reason in re.findall(
            r'<p class="response"><strong>.*?</strong>.*? — (.*?)\s*(?:<span|</p>)', page
        )
    ]


def _comments_on_page(page: str) -> list[str] | None:
    section = _section(page, '<section id="comments"', "</section>")
    if section is None:
        return None
    return [
        html.unescape(body)
        for body in re.findall(r'<li class="comment.*?<div class="prose">(.*?)</div>', section, re.S)
    ]


def assert_design_input_responses_as_on_the_pages(client, browser, secret: str) -> int:
    """Every design input the API lists: its responses and comments as on its page. Returns how
    many were compared."""
    compared = 0
    for sub in _all(client, secret, "/api/v1/submissions", kind="design_input"):
        body = _api(client, secret, f"/api/v1/submissions/{sub['id']}/responses")
        page = _page(browser, f"/submissions/{sub['id']}")
        reasons = [item["response"]["reason"] for item in body["items"] if item["response"]]
        assert _responses_on_page(page) == reasons, sub["id"]
        comments = None if body["comments"] is None else [c["body"] for c in body["comments"]]
        assert _comments_on_page(page) == comments, sub["id"]
        compared += 1
    return compared
