"""The HTML and accessibility validators the browser tests run: the Nu HTML checker and pa11y.

Both are pinned in tests/validators/package.json (npm packages `vnu-jar`, which carries vnu.jar,
and `pa11y`), installed by `make install` with `npm ci`. vnu runs on Java, pa11y on Node.js and
Debian's Chromium. When one of them is missing the tests that need them are skipped, loudly —
except with CI=true, where that is a failure.

Every finding names the page (its URL and who was looking at it), the line and column in the HTML
and the checker's message, so that a new error is found and fixed quickly. The HTML of each page
with an error is kept in the browser tests' evidence folder, where its line numbers can be read.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import E2E_ARTIFACTS, IN_CI

VALIDATORS = Path(__file__).parent / "validators"
NODE_MODULES = VALIDATORS / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
PA11Y_RUN = VALIDATORS / "pa11y-run.js"
EVIDENCE = E2E_ARTIFACTS / "validators"

# vnu errors that are not errors in this app, by exact message. Keep this tiny; say why for each.
VNU_IGNORED: dict[str, str] = {}


@dataclass(frozen=True)
class Document:
    """One page as a person saw it: its address, who was looking, the test that opened it, its HTML."""

    url: str
    who: str
    html: str
    test: str = ""


@dataclass(frozen=True)
class Finding:
    url: str
    who: str
    message: str
    test: str = ""
    line: int | None = None
    column: int | None = None
    extract: str = ""
    kept: str = ""  # the file holding the page's HTML, where `line` is

    def __str__(self) -> str:
        at = f" line {self.line}" + (f":{self.column}" if self.column else "") if self.line else ""
        text = f"{self.url}{at} — {self.who}" + (f" — {self.test}" if self.test else "")
        if self.kept:
            text += f"\n        HTML: {self.kept}"
        if self.extract:
            text += "\n        " + " ".join(self.extract.split())[:200]
        return text


def missing_tools() -> list[str]:
    """What the validators need and this machine lacks, each with the way to get it."""
    missing = []
    if shutil.which("java") is None:
        missing.append(
            "Java (`java`, 11 or later) for the Nu HTML checker: apt-get install openjdk-17-jre-headless"
        )
    if shutil.which("node") is None:
        missing.append("Node.js (`node`, 20 or later) for pa11y: apt-get install nodejs npm")
    if not VNU_JAR.is_file() or not (NODE_MODULES / "pa11y").is_dir():
        missing.append(f"the validators' packages in {NODE_MODULES}: run `make validators`")
    return missing


def require_tools() -> None:
    """Skip (locally) or fail (CI=true) the calling test when a validator cannot run here."""
    missing = missing_tools()
    if not missing:
        return
    message = "the HTML validators cannot run: missing " + "; ".join(missing)
    if IN_CI:
        pytest.fail(message + " — CI=true requires them.", pytrace=False)
    pytest.skip("!!! " + message)


def _keep(documents: Iterable[Document], why: str) -> dict[Document, str]:
    """Write the documents where CI lists failure evidence; where each went, relative if it can be."""
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    kept = {}
    for document in documents:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", f"{why}-{document.url.split('//')[-1]}")[:80]
        digest = hashlib.sha1(document.html.encode(), usedforsecurity=False).hexdigest()[:8]
        path = EVIDENCE / f"{slug}-{digest}.html"
        path.write_text(document.html, encoding="utf-8")
        kept[document] = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    return kept


def unique(documents: Iterable[Document]) -> list[Document]:
    """One document per distinct HTML: the first place it was seen names it."""
    seen: dict[str, Document] = {}
    for document in documents:
        seen.setdefault(document.html, document)
    return list(seen.values())


def vnu(documents: Iterable[Document]) -> tuple[list[Finding], list[Finding]]:
    """The Nu HTML checker on every document in one Java run: (errors, warnings)."""
    documents = unique(documents)
    if not documents:
        return [], []
    with tempfile.TemporaryDirectory(prefix="vnu-") as tmp:
        by_uri: dict[str, Document] = {}
        for number, document in enumerate(documents):
            path = Path(tmp) / f"page-{number:04d}.html"
            path.write_text(document.html, encoding="utf-8")
            by_uri[path.resolve().as_uri()] = document
        # All files in one run: the JVM's start-up is most of the time.
        result = subprocess.run(
            ["java", "-jar", str(VNU_JAR), "--format", "json", "--stdout", "--exit-zero-always", tmp],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    if result.returncode != 0:
        raise RuntimeError(f"vnu failed ({result.returncode}): {result.stderr[-2000:]}")
    errors: dict[Document, list[dict]] = {}
    warnings: list[Finding] = []
    for message in json.loads(result.stdout)["messages"]:
        document = by_uri.get(_as_uri(message.get("url", "")))
        if document is None:  # about the run rather than a page (a file it could not read)
            document = Document(message.get("url", "?"), "vnu", "")
        if message["type"] == "info":
            if message.get("subType") == "warning":
                warnings.append(_finding(document, message))
        elif message.get("message") not in VNU_IGNORED:
            errors.setdefault(document, []).append(message)
    kept = _keep([d for d in errors if d.html], "vnu")
    found = [
        _finding(document, message, kept.get(document, ""))
        for document, messages in errors.items()
        for message in messages
    ]
    return found, warnings


def _finding(document: Document, message: dict, kept: str = "") -> Finding:
    return Finding(
        url=document.url,
        who=document.who,
        test=document.test,
        message=message.get("message", ""),
        line=message.get("lastLine"),
        column=message.get("firstColumn") or message.get("lastColumn"),
        extract=message.get("extract", ""),
        kept=kept,
    )


def _as_uri(url: str) -> str:
    """vnu writes file:/tmp/x; Path.as_uri() writes file:///tmp/x."""
    if url.startswith("file:") and not url.startswith("file://"):
        return "file://" + url.removeprefix("file:")
    return url


@dataclass
class Pa11yGroup:
    """The pages one person is shown, and the cookies of their signed-in session."""

    who: str
    urls: list[str]
    cookies: list[dict]


def pa11y(groups: list[Pa11yGroup], *, chromium: str, args: list[str], concurrency: int = 2) -> list[Finding]:
    """pa11y (HTML_CodeSniffer, WCAG 2 AA) on live pages, one browser for all: its errors."""
    config = {
        "chromium": chromium,
        "args": args,
        "standard": "WCAG2AA",
        "concurrency": concurrency,
        "groups": [{"label": g.who, "cookies": g.cookies, "urls": g.urls} for g in groups],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(config, handle)
    try:
        result = subprocess.run(
            ["node", str(PA11Y_RUN), handle.name],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            env={**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"},
        )
    finally:
        os.unlink(handle.name)
    if result.returncode != 0:
        raise RuntimeError(f"pa11y failed ({result.returncode}): {result.stderr[-2000:]}")
    findings = []
    for page in json.loads(result.stdout):
        url, who = page["url"], page["label"]
        if page["error"]:
            findings.append(Finding(url, who, f"pa11y could not check the page: {page['error']}"))
            continue
        if page["pageUrl"] != url or page["status"] != 200:
            findings.append(
                Finding(url, who, f"pa11y got {page['status']} at {page['pageUrl']} (signed out?)")
            )
        for issue in page["issues"]:
            if issue["type"] == "error":
                findings.append(
                    Finding(
                        url,
                        who,
                        f"{issue['message']} [{issue['code']}]",
                        extract=f"at {issue['selector']}: {issue.get('context') or ''}",
                    )
                )
    return findings


def report(title: str, findings: list[Finding], *, places: int = 6) -> str:
    """The findings grouped by message (quoted values aside), each with the first places found."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(re.sub(r"“[^”]*”|\"[^\"]*\"", "“…”", finding.message), []).append(finding)
    lines = [f"{title}: {len(findings)}, {len(groups)} different"]
    for group in groups.values():
        lines.append(f"* {group[0].message}" + (f" ({len(group)} times)" if len(group) > 1 else ""))
        for finding in group[:places]:
            lines.append(f"    - {finding}")
            if finding.message != group[0].message:
                lines.append(f"        {finding.message}")
        if len(group) > places:
            lines.append(f"    - ... and {len(group) - places} more")
    return "\n".join(lines)


def failure(name: str, sections: dict[str, list[Finding]]) -> str:
    """The text a failing check shows: a summary, the full list written to the evidence folder."""
    sections = {title: findings for title, findings in sections.items() if findings}
    EVIDENCE.mkdir(parents=True, exist_ok=True)
    path = EVIDENCE / f"{name}.txt"
    path.write_text("\n\n".join(report(t, f, places=len(f)) for t, f in sections.items()) + "\n")
    where = os.path.relpath(path) if path.is_relative_to(Path.cwd()) else str(path)
    return "\n\n".join(report(t, f) for t, f in sections.items()) + f"\n\nEvery place: {where}"
