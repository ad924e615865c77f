"""Reading a page's error summary and title, as a user (or a screen reader) meets them."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class Summary:
    attrs: dict[str, str | None]
    heading: str
    links: list[tuple[str, str]]  # (href, text)
    items: list[str]  # every item's text, linked or not
    position: int  # where the summary starts in the page


class _SummaryParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str | None] | None = None
        self.depth = 0
        self.heading = ""
        self.links: list[tuple[str, str]] = []
        self.items: list[str] = []
        self._in_heading = False
        self._href: str | None = None
        self._text = ""
        self._in_item = False
        self.position = -1

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self.attrs is None:
            if tag == "div" and "error-summary" in (attributes.get("class") or "").split():
                self.attrs = attributes
                self.depth = 1
                self.position = self.getpos()[0]
            return
        if self.depth == 0:
            return
        if tag == "div":
            self.depth += 1
        if tag == "h2":
            self._in_heading = True
        if tag == "li":
            self._in_item, self._text = True, ""
        if tag == "a":
            self._href = attributes.get("href")

    def handle_endtag(self, tag):
        if self.attrs is None or self.depth == 0:
            return
        if tag == "div":
            self.depth -= 1
        if tag == "h2":
            self._in_heading = False
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._text.strip()))
            self._href = None
        if tag == "li":
            self.items.append(self._text.strip())
            self._in_item = False

    def handle_data(self, data):
        if self.depth == 0 or self.attrs is None:
            return
        if self._in_heading:
            self.heading += data
        if self._in_item:
            self._text += data


def error_summary(page: str) -> Summary | None:
    parser = _SummaryParser()
    parser.feed(page)
    if parser.attrs is None:
        return None
    lines = page.splitlines(keepends=True)
    offset = sum(len(line) for line in lines[: parser.position - 1])
    return Summary(parser.attrs, parser.heading.strip(), parser.links, parser.items, offset)


def title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.S)
    return html.unescape(match.group(1).strip()) if match else ""


def ids_in(page: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', page))


def assert_summary_links_every_error(page: str, expected: dict[str, str]) -> Summary:
    """The page's summary: a focusable alert with its heading, a link per error to a field that is on
    the page. `expected` maps field ids to (part of) the message linked to them."""
    summary = error_summary(page)
    assert summary is not None, "the page starts with an error summary"
    assert summary.attrs.get("role") == "alert"
    assert summary.attrs.get("tabindex") == "-1"
    assert "autofocus" in summary.attrs
    assert summary.heading == "There is a problem"
    assert title(page).startswith("Error: "), title(page)
    on_page = ids_in(page)
    by_target = {}
    for href, text in summary.links:
        assert href.startswith("#"), href
        assert href[1:] in on_page, f"{href} leads to nothing on the page"
        by_target.setdefault(href[1:], []).append(html.unescape(text))
    for field_id, message in expected.items():
        assert field_id in by_target, f"no link to #{field_id} in {summary.links}"
        assert any(message in text for text in by_target[field_id]), (field_id, by_target[field_id])
    return summary
