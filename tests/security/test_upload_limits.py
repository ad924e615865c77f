"""Uploads that are small on the wire but huge once unpacked or decoded.

Each of them, within the request size limit, once kept a worker busy until it was killed: 25
single-colour 7000×7000 PNGs (3.8 MB) in one save, and a 236 KB workbook whose shared strings
unpack to 92 MB. They are refused quickly with a message, before anything is decoded, and the
typed report is kept. The archive check is one function, used by evidence files and the
framework import alike.
"""

from __future__ import annotations

import http.cookiejar
import io
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from mel_app import archives
from mel_app.models import Status
from mel_app.projects import import_export
from mel_app.submissions import files
from tests.conftest import csrf_token
from tests.factories import PASSWORD
from tests.security.test_evidence import docx, stored
from tests.submissions_world import add_submission, build_world, report_payload, signed_in, state


@pytest.fixture
def setup(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    return world, sub_id, signed_in(app, login, world, "author")


def upload(client, world, sub_id, files, **fields):
    """The report form with files, encoded in memory (the test client spools large bodies to
    temporary files it never closes)."""
    data = MultiDict(report_payload(world, state(client.application, sub_id)[1], **fields))
    data["csrf_token"] = csrf_token(client)
    for name, content in files:
        data.add("evidence", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(data)
    return client.post(
        f"/submissions/{sub_id}/save", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


def flat_png(size: int = 7000) -> bytes:
    """A single-colour size×size PNG: about 150 kB for 49 megapixels."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(out, format="PNG", optimize=True)
    return out.getvalue()


@pytest.fixture(scope="module")
def png_bomb() -> bytes:
    return flat_png()


def xlsx_bomb(unpacked_mb: int = 92, *, rows: list[list[str]] | None = None) -> bytes:
    """A valid workbook named "framework" whose sharedStrings.xml unpacks to `unpacked_mb` MB."""
    plain = io.BytesIO()
    workbook = xlsxwriter.Workbook(plain, {"in_memory": True})
    sheet = workbook.add_worksheet("framework")
    for number, row in enumerate(rows or [["level", "code", "title"], ["outcome", "1", "Stronger unions"]]):
        sheet.write_row(number, 0, row)
    workbook.close()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/sharedStrings.xml" and unpacked_mb:
                filler = b"<si><t>AAAAAAAAAAAA</t></si>" * (unpacked_mb * 1024 * 1024 // 26)
                data = data.replace(b"</sst>", filler + b"</sst>")
            target.writestr(info.filename, data)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# Pictures: limits per request, checked on the headers before anything is decoded


def test_twenty_five_huge_flat_pictures_are_refused_at_once_with_the_text_kept(app, setup, png_bomb):
    world, sub_id, author = setup
    app.config["MAX_FILES_PER_REQUEST"] = 30  # the pixel limit must hold on its own
    pictures = [(f"photo{n}.png", png_bomb) for n in range(25)]
    assert sum(len(p) for _n, p in pictures) < app.config["MAX_CONTENT_LENGTH"]
    started = time.monotonic()
    resp = upload(author, world, sub_id, pictures, achievements="Forty organisers trained")
    elapsed = time.monotonic() - started
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "These pictures together have more than 120 megapixels" in page
    assert "Forty organisers trained" in page
    # Decoding one of them takes a second or two (25 of them, most of a minute): none was decoded.
    assert elapsed < 15, f"took {elapsed:.1f} s"
    assert stored(app, sub_id) == []


def test_pictures_within_the_limit_per_request_are_stored(app, setup):
    world, sub_id, author = setup
    app.config["MAX_PIXELS_PER_REQUEST"] = 2 * 300 * 300
    small = flat_png(300)
    resp = upload(author, world, sub_id, [("a.png", small), ("b.png", small)])
    assert resp.status_code == 302
    assert [s["filename"] for s in stored(app, sub_id)] == ["a.png", "b.png"]
    # One picture more than the limit allows: refused as a whole, nothing added.
    resp = upload(author, world, sub_id, [(f"c{n}.png", small) for n in range(3)], achievements="Kept")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "more than 0.18 megapixels" in page and "Kept" in page
    assert len(stored(app, sub_id)) == 2


def test_a_single_picture_over_the_limit_per_file_is_named(app, setup, png_bomb):
    world, sub_id, author = setup
    app.config["MAX_IMAGE_PIXELS"] = 40_000_000
    resp = upload(author, world, sub_id, [("wall.png", png_bomb)], achievements="Mine")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "wall.png has too many pixels to be processed (at most 40 megapixels)" in page
    assert "Mine" in page


def test_more_files_than_allowed_in_one_save_are_refused_with_the_text_kept(app, setup):
    world, sub_id, author = setup
    limit = app.config["MAX_FILES_PER_REQUEST"]
    notes = [(f"note{n}.txt", b"Minutes of the meeting\n") for n in range(limit + 1)]
    resp = upload(author, world, sub_id, notes, achievements="Typed before attaching")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert f"You attached {limit + 1} files; at most {limit} can be added in one save" in page
    assert "Typed before attaching" in page
    assert stored(app, sub_id) == []
    assert upload(author, world, sub_id, notes[:limit]).status_code == 302
    assert len(stored(app, sub_id)) == limit


def test_the_header_is_read_without_decoding_the_picture(png_bomb):
    assert files.declared_pixels(png_bomb) == 7000 * 7000
    assert files.declared_pixels(b"%PDF-1.4 not a picture") == 0


# ---------------------------------------------------------------------------------------------
# Archives: one inspection of the ZIP directory, for evidence and the framework import


def test_the_spreadsheet_bomb_is_refused_by_the_framework_import_quickly(app, client, login, make):
    from mel_app.models import Role

    project = make.project("RAF/22/11/NOR")
    make.member(make.user("spec@example.org"), project, Role.specialist)
    login("spec@example.org")
    bomb = xlsx_bomb(92)
    assert len(bomb) < import_export.MAX_BYTES, "within the import's size limit"
    started = time.monotonic()
    boundary, body = encode_multipart(
        {"csrf_token": csrf_token(client), "file": FileStorage(io.BytesIO(bomb), filename="logframe.xlsx")}
    )
    resp = client.post(
        f"/projects/{project}/framework/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    elapsed = time.monotonic() - started
    assert resp.status_code == 422
    assert "This workbook unpacks to far more data than a results framework holds" in resp.get_data(
        as_text=True
    )
    # The reader took 30 seconds over this file: it never opened it.
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_a_workbook_as_large_as_a_real_framework_passes_the_archive_check(app):
    # MAX_ROWS indicators with long titles and units: what a real framework can weigh at most.
    rows = [["level", "code", "parent", "title", "measure", "unit"]]
    rows += [["outcome", "1", "", "Stronger unions", "", ""]]
    rows += [
        ["indicator", f"1.{n}", "1", f"Indicator {n} " + "described at length " * 10, "number", f"unit {n}"]
        for n in range(import_export.MAX_ROWS - 1)
    ]
    workbook = xlsx_bomb(0, rows=rows)
    archives.inspect_zip(workbook, import_export.IMPORT_ZIP_LIMITS)
    with app.test_request_context():
        table = import_export.read_table("logframe.xlsx", workbook)
    assert len(table.rows) == import_export.MAX_ROWS


def test_the_spreadsheet_bomb_is_refused_as_evidence_by_the_same_check(app, setup):
    world, sub_id, author = setup
    resp = upload(author, world, sub_id, [("figures.xlsx", xlsx_bomb(92))], achievements="Mine")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "figures.xlsx unpacks to far more data than a document holds" in page and "Mine" in page


@pytest.mark.parametrize(
    ("limits", "reason"),
    [
        ({"max_members": 3}, "members"),
        ({"max_total_bytes": 3_000_000}, "total size"),
        ({"max_member_bytes": 1_000_000}, "member size"),
        ({"max_ratio": 100}, "ratio"),
    ],
)
def test_each_limit_of_the_archive_check_is_read_from_the_directory(limits, reason):
    bomb = docx({"word/media/a.xml": b"\x00" * 2_000_000, "word/media/b.xml": b"\x00" * 2_000_000})
    generous = dict(
        max_members=100, max_total_bytes=10**9, max_member_bytes=10**9, max_ratio=10**6, ratio_floor=1024
    )
    archives.inspect_zip(bomb, archives.ZipLimits(**generous))
    with pytest.raises(archives.ArchiveTooLarge) as refused:
        archives.inspect_zip(bomb, archives.ZipLimits(**{**generous, **limits}))
    assert refused.value.reason == reason


def test_a_document_compressed_with_bzip2_is_refused_without_unpacking_it(app):
    # bzip2 unpacks a whole chunk before zipfile cuts it to the declared size: never read.
    document = docx(compression=zipfile.ZIP_BZIP2)
    with pytest.raises(archives.ArchiveDamaged):
        archives.inspect_zip(document, files.EVIDENCE_ZIP_LIMITS)
    with app.test_request_context(), pytest.raises(files.FileRejected, match="damaged"):
        files.sniff(document, "minutes.docx")


# ---------------------------------------------------------------------------------------------
# Under gunicorn: no upload within the request size limit gets the worker killed

GUNICORN = Path(sys.executable).with_name("gunicorn")
# Gunicorn's default, which production keeps: a worker silent for this long is killed.
WORKER_TIMEOUT = 30


class Browser:
    """A signed-in browser over real HTTP: cookies, CSRF tokens from the pages, multipart posts."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def request(self, path: str, body: bytes | None = None, content_type: str | None = None):
        req = urllib.request.Request(  # noqa: S310 - the test's own server, over http
            self.base + path, data=body, method="POST" if body is not None else "GET"
        )
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            with self.opener.open(req, timeout=WORKER_TIMEOUT + 30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def token(self, path: str) -> str:
        _status, page = self.request(path)
        return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

    def post(self, path: str, fields: MultiDict | dict, *, token_from: str):
        data = MultiDict(fields)
        data["csrf_token"] = self.token(token_from)
        boundary, body = encode_multipart(data)
        return self.request(path, body, f"multipart/form-data; boundary={boundary}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is the answer to look at, not a page to fetch


def _worker_pids(master: int) -> set[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return {int(pid) for pid in children}


@pytest.fixture
def served(app, make, tmp_path):
    """The app under gunicorn, one sync worker, on the test database; yields (base URL, world)."""
    world = build_world(make)
    # Gunicorn is handed a socket already bound to a free port, so that no other test running
    # in parallel can take the port between choosing it and gunicorn listening on it.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "MEL_CONFIG": "testing",
        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
    }
    with listener, open(log, "w") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "--workers", "1", "--worker-class", "sync", "--timeout", str(WORKER_TIMEOUT)]
            + ["--bind", f"fd://{listener.fileno()}", "mel_app:create_app()"],
            cwd=Path(__file__).resolve().parents[2],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        yield f"http://127.0.0.1:{port}", world, process, log
    finally:
        process.terminate()
        process.wait(20)


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn not installed")
def test_no_upload_within_the_request_limit_gets_the_worker_killed(app, served, png_bomb):
    base, world, process, log = served
    sub_id = add_submission(app, world, Status.draft)
    author, specialist = Browser(base), Browser(base)
    for browser, who in ((author, "author"), (specialist, "specialist")):
        status, _page = browser.post(
            "/login", {"email": world.emails[who], "password": PASSWORD}, token_from="/login"
        )
        assert status == 302, who
    workers = _worker_pids(process.pid)
    assert len(workers) == 1

    def save(files, **fields):
        data = MultiDict(report_payload(world, state(app, sub_id)[1], **fields))
        for name, content in files:
            data.add("evidence", FileStorage(io.BytesIO(content), filename=name))
        return author.post(f"/submissions/{sub_id}/save", data, token_from=f"/submissions/{sub_id}")

    limit = app.config["MAX_CONTENT_LENGTH"]
    refusals = {
        "25 flat 7000×7000 pictures": (
            [(f"photo{n}.png", png_bomb) for n in range(25)],
            "You attached 25 files; at most 10 can be added in one save",
        ),
        "10 flat 7000×7000 pictures": (
            [(f"photo{n}.png", png_bomb) for n in range(10)],
            "These pictures together have more than 120 megapixels",
        ),
        "a document bomb": (
            [("minutes.docx", docx({"word/media/filler.xml": b"\x00" * 150_000_000}))],
            "minutes.docx unpacks to far more data than a document holds",
        ),
        "a workbook bomb as evidence": (
            [("figures.xlsx", xlsx_bomb(92))],
            "figures.xlsx unpacks to far more data than a document holds",
        ),
    }
    for what, (files_sent, message) in refusals.items():
        assert sum(len(content) for _name, content in files_sent) < limit, what
        started = time.monotonic()
        status, page = save(files_sent, achievements=f"Typed before {what}")
        assert status == 422, (what, status)
        assert message in page and f"Typed before {what}" in page, what
        assert time.monotonic() - started < WORKER_TIMEOUT / 2, what

    started = time.monotonic()
    status, page = specialist.post(
        f"/projects/{world.project}/framework/import",
        {"file": FileStorage(io.BytesIO(xlsx_bomb(92)), filename="logframe.xlsx")},
        token_from=f"/projects/{world.project}/framework/import",
    )
    assert status == 422, status
    assert "This workbook unpacks to far more data than a results framework holds" in page
    assert time.monotonic() - started < WORKER_TIMEOUT / 2

    # The most a save may bring within the limits (two 49-megapixel pictures) is processed in time.
    status, _page = save([("wall1.png", png_bomb), ("wall2.png", png_bomb)])
    assert status == 302, status

    assert _worker_pids(process.pid) == workers, "the worker was killed and replaced"
    assert process.poll() is None
    assert "WORKER TIMEOUT" not in log.read_text()
