"""Following a signed-in user's links with the test client: the one walk of the tests that check
every page a demo account reaches (dead links, the validators, the phone's widths)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

from werkzeug.test import TestResponse

# Each path pattern (numbers replaced by N) is followed at most this often, and a walk opens at
# most MAX_PAGES pages, so that one account's walk stays well under a minute.
PER_PATTERN = 3
MAX_PAGES = 250


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def same_site(href: str) -> str | None:
    """The path (and query) of a link to this app, or None for a link elsewhere."""
    href = urldefrag(href)[0]
    parts = urlsplit(href)
    if parts.scheme not in ("", "http", "https") or not parts.path:
        return None
    if parts.netloc not in ("", "localhost"):
        return None
    if not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def pattern(url: str) -> str:
    """The path with numbers replaced by N: the same page for another record."""
    return re.sub(r"\d+", "N", urlsplit(url).path)


def walk(
    client,
    start: str = "/",
    *,
    key: Callable[[str], str] = pattern,
    per_key: int = PER_PATTERN,
    limit: int = MAX_PAGES,
    skip: Callable[[str], object] | None = None,
) -> Iterator[tuple[str, TestResponse, str]]:
    """(address, response, the page that linked to it) of each page opened, breadth first from
    `start`, following the links of every HTML page: at most `per_key` addresses of each `key`,
    none that `skip` names, at most `limit` pages in all."""
    seen = {start}
    per = {key(start): 1}
    queue: deque[tuple[str, str]] = deque([(start, "(start)")])
    opened = 0
    while queue and opened < limit:
        url, found_on = queue.popleft()
        response = client.get(url)
        opened += 1
        yield url, response, found_on
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        links = Links()
        links.feed(response.get_data(as_text=True))
        for href in links.hrefs:
            target = same_site(href)
            if target is None or target in seen or (skip is not None and skip(target)):
                continue
            seen.add(target)
            if per.get(key(target), 0) >= per_key:
                continue
            per[key(target)] = per.get(key(target), 0) + 1
            queue.append((target, url))
