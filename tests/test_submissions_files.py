"""Evidence files: the type allow-list checked by content, size limits, storage and download."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.serving import make_server

from mel_app.extensions import db
from mel_app.models import Attachment, Status, SubmissionVersion
from mel_app.submissions.files import FileRejected, FileTooLarge, read_upload, sniff
from tests.submissions_world import (
    add_submission,
    build_world,
    post,
    report_payload,
    signed_in,
    state,
)

# ---------------------------------------------------------------------------------------------
# Sample files of every allowed kind, made here rather than stored in the repository.


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def image_bytes(fmt: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format=fmt)
    return out.getvalue()


def ooxml_bytes(folder: str, main: str, *, macro: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr(f"{folder}/{main}", '<?xml version="1.0"?><document/>')
        if macro:
            archive.writestr(f"{folder}/vbaProject.bin", b"\x00macro")
    return out.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active["A1"] = "members"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def odf_bytes(mime: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), mime)  # stored first, uncompressed, as ODF requires
        archive.writestr("content.xml", '<?xml version="1.0"?><office:document-content/>')
        archive.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest/>')
    return out.getvalue()


ALLOWED_SAMPLES = [
    ("report.pdf", pdf_bytes, "application/pdf"),
    ("photo.png", lambda: image_bytes("PNG"), "image/png"),
    ("photo.jpg", lambda: image_bytes("JPEG"), "image/jpeg"),
    ("photo.jpeg", lambda: image_bytes("JPEG"), "image/jpeg"),
    (
        "minutes.docx",
        lambda: ooxml_bytes("word", "document.xml"),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("members.xlsx", xlsx_bytes, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (
        "minutes.odt",
        lambda: odf_bytes("application/vnd.oasis.opendocument.text"),
        "application/vnd.oasis.opendocument.text",
    ),
    (
        "members.ods",
        lambda: odf_bytes("application/vnd.oasis.opendocument.spreadsheet"),
        "application/vnd.oasis.opendocument.spreadsheet",
    ),
    ("members.csv", lambda: b"name;women;men\nNairobi;18;12\n", "text/csv"),
    ("membres.csv", lambda: "région;femmes\nThiès;12\n".encode("cp1252"), "text/csv"),
    ("notes.txt", lambda: b"Meeting notes: the committee met twice.\r\n", "text/plain"),
]


@pytest.mark.parametrize(
    ("name", "make_bytes", "media_type"), ALLOWED_SAMPLES, ids=[s[0] for s in ALLOWED_SAMPLES]
)
def test_every_allowed_kind_of_file_is_recognised_by_its_content(name, make_bytes, media_type):
    assert sniff(make_bytes(), name) == media_type


FORBIDDEN = [
    ("a Windows program renamed .pdf", "report.pdf", b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200),
    ("a Linux program renamed .pdf", "report.pdf", b"\x7fELF\x02\x01\x01" + b"\x00" * 200),
    ("a web page renamed .pdf", "report.pdf", b"<!doctype html><html><script>alert(1)</script></html>"),
    ("a web page renamed .txt", "notes.txt", b"<html><body><script>alert(1)</script></body></html>"),
    ("an SVG renamed .txt", "notes.txt", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("a plain ZIP renamed .docx", "minutes.docx", None),
    ("a macro-enabled document", "minutes.docx", b"macro"),
    ("a PNG renamed .pdf", "report.pdf", b"png"),
    ("text with NUL bytes", "notes.txt", b"abc\x00def"),
    ("text named .exe", "notes.exe", b"just text"),
    ("a GIF", "photo.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
    ("an empty file", "notes.txt", b""),
]


@pytest.mark.parametrize(("what", "name", "data"), FORBIDDEN, ids=[f[0] for f in FORBIDDEN])
def test_forbidden_files_are_refused_whatever_their_name(what, name, data):
    if data is None:
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            archive.writestr("readme.txt", "hello")
        data = out.getvalue()
    elif data == b"macro":
        data = ooxml_bytes("word", "document.xml", macro=True)
    elif data == b"png":
        data = image_bytes("PNG")
    with pytest.raises(FileRejected):
        sniff(data, name)


def test_read_upload_keeps_a_clean_name_the_hash_and_refuses_a_file_over_the_limit(app):
    with app.test_request_context():
        upload = read_upload(io.BytesIO(pdf_bytes()), "C:\\Users\\grace\\Report 2026.pdf", max_bytes=1000)
        assert upload.filename == "Report 2026.pdf"
        assert upload.sha256 == hashlib.sha256(pdf_bytes()).hexdigest()
        with pytest.raises(FileTooLarge):
            read_upload(io.BytesIO(b"%PDF-" + b"x" * 2000), "big.pdf", max_bytes=1000)


# ---------------------------------------------------------------------------------------------
# Through the app


def _upload(client, world, sub_id, files, **extra):
    data = report_payload(world, state(client.application, sub_id)[1], **extra)
    data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return post(client, f"/submissions/{sub_id}/save", data, content_type="multipart/form-data")


def _attachments(app, sub_id):
    with app.app_context():
        rows = db.session.scalars(sa.select(Attachment).where(Attachment.submission_id == sub_id)).all()
        return [(a.id, a.filename, a.media_type, a.size, a.sha256, a.is_deleted) for a in rows]


def test_several_files_are_stored_with_their_hash_and_downloaded_as_attachments(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    png = image_bytes("PNG")
    resp = _upload(author, world, sub_id, [("report.pdf", pdf_bytes()), ("photo.png", png)])
    assert resp.status_code == 302
    stored = _attachments(app, sub_id)
    assert [(name, media, size) for _id, name, media, size, _sha, _del in stored] == [
        ("report.pdf", "application/pdf", len(pdf_bytes())),
        ("photo.png", "image/png", len(png)),
    ]
    assert stored[1][4] == hashlib.sha256(png).hexdigest()

    with author.get(f"/submissions/{sub_id}/attachments/{stored[1][0]}") as download:
        assert download.status_code == 200
        assert download.data == png
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert "photo.png" in download.headers["Content-Disposition"]
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        assert download.headers["Content-Type"] == "image/png"
        assert "no-store" in download.headers["Cache-Control"]
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "report.pdf" in page and "photo.png" in page


def test_a_forbidden_file_renamed_pdf_is_refused_next_to_the_field_and_nothing_is_saved(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    before = state(app, sub_id)
    program = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 500
    resp = _upload(author, world, sub_id, [("report.pdf", program)], achievements="New text I typed")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'id="evidence-error"' in page
    assert "report.pdf is not one of the accepted kinds of file" in page
    assert "New text I typed" in page, "what the user typed stays in the form"
    assert state(app, sub_id) == before
    assert _attachments(app, sub_id) == []


def test_a_file_over_the_per_file_limit_gets_a_413_page_with_the_form_kept(app, make, login):
    app.config["MAX_UPLOAD_BYTES"] = 2048
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    big = pdf_bytes() + b"%" * 4096
    resp = _upload(author, world, sub_id, [("big.pdf", big)], achievements="Kept text")
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert "big.pdf is larger than the limit of 0.00195312 MB per file" in page or "big.pdf is larger" in page
    assert "Kept text" in page
    assert _attachments(app, sub_id) == []


def test_a_request_over_max_content_length_gets_the_apps_413_page(app, make, login):
    app.config["MAX_CONTENT_LENGTH"] = 50_000
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    resp = _upload(author, world, sub_id, [("big.pdf", pdf_bytes() + b"%" * 200_000)])
    assert resp.status_code == 413
    page = resp.get_data(as_text=True)
    assert "File too large" in page
    assert "<nav" in page and "Sign out" in page, "the app's own page, in its layout"
    assert _attachments(app, sub_id) == []


def _post_raw(port: int, size: int) -> bytes:
    """POST `size` bytes the way a browser does, and return what the server answers."""
    body_head = b'--x\r\nContent-Disposition: form-data; name="evidence"; filename="big.pdf"\r\n\r\n'
    request = (
        b"POST /submissions/1/save HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\n" + f"Content-Length: {size}\r\n\r\n".encode()
    )
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request + body_head)
        sent, chunk = len(body_head), b"%" * 65536
        while sent < size:
            piece = chunk[: size - sent]
            sock.sendall(piece)
            sent += len(piece)
        # Read the answer as a browser does: the headers, then Content-Length bytes of page.
        answer = b""
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        head, _sep, body = answer.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        while len(body) < length:
            data = sock.recv(65536)
            if not data:
                break
            body += data
    return head + b"\r\n\r\n" + body


def test_a_too_large_upload_to_a_real_server_gets_the_413_page_not_a_reset(app):
    app.config["MAX_CONTENT_LENGTH"] = 100_000
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = _post_raw(server.server_port, 1_000_000)
    finally:
        server.shutdown()
        thread.join(5)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"File too large" in answer


@pytest.mark.skipif(not Path(sys.executable).with_name("gunicorn").exists(), reason="gunicorn not installed")
def test_a_too_large_upload_to_gunicorn_gets_the_413_page_not_a_reset(tmp_path):
    """Gunicorn closes the socket on an unread body; the app reads the refused body first."""
    # Gunicorn is handed a socket already bound to a free port, so that no other test running
    # in parallel can take the port between choosing it and gunicorn listening on it.
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    env = {
        **os.environ,
        "MEL_CONFIG": "testing",
        "TEST_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite'}",
        "MAX_CONTENT_LENGTH": "2000000",
    }
    root = Path(__file__).resolve().parent.parent
    with listener:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "-w",
                "1",
                "-b",
                f"fd://{listener.fileno()}",
                "mel_app:create_app()",
            ],
            cwd=root,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=[listener.fileno()],
        )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        answer = _post_raw(port, 7_900_000)
    finally:
        process.terminate()
        process.wait(10)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b"File too large" in answer


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("author", 200),
        ("colleague", 200),
        ("specialist", 200),
        ("admin", 200),
        ("other_org", 404),
        ("evaluator", 404),
        ("observer", 404),
        ("outsider", 404),
    ],
)
def test_who_may_download_evidence_of_a_submitted_report(app, make, login, who, status):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    assert _upload(author, world, sub_id, [("report.pdf", pdf_bytes())]).status_code == 302
    assert (
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]}).status_code == 302
    )
    attachment_id = _attachments(app, sub_id)[0][0]
    client = author if who == "author" else signed_in(app, login, world, who)
    with client.get(f"/submissions/{sub_id}/attachments/{attachment_id}") as resp:
        assert resp.status_code == status
        if status == 404:
            assert pdf_bytes() not in resp.data


def test_observers_and_evaluators_download_evidence_once_approved(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.submitted)
    with app.app_context():
        db.session.add(
            Attachment(
                submission_id=sub_id,
                filename="report.pdf",
                media_type="application/pdf",
                size=len(pdf_bytes()),
                sha256=hashlib.sha256(pdf_bytes()).hexdigest(),
                data=pdf_bytes(),
                uploaded_by_id=world.users["author"],
            )
        )
        db.session.commit()
        attachment_id = db.session.scalar(sa.select(Attachment.id))
    specialist = signed_in(app, login, world, "specialist")
    assert post(specialist, f"/submissions/{sub_id}/approve", {"version": "1"}).status_code == 302
    for who in ("observer", "evaluator"):
        with signed_in(app, login, world, who).get(
            f"/submissions/{sub_id}/attachments/{attachment_id}"
        ) as resp:
            assert resp.status_code == 200
            assert resp.data == pdf_bytes()


def test_a_non_member_gets_404_for_an_attachment_and_ids_of_other_submissions_do_not_work(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    other_sub = add_submission(app, world, Status.draft, organisation=world.employers, author="other_org")
    author = signed_in(app, login, world, "author")
    assert _upload(author, world, sub_id, [("report.pdf", pdf_bytes())]).status_code == 302
    attachment_id = _attachments(app, sub_id)[0][0]
    outsider = signed_in(app, login, world, "outsider")
    with outsider.get(f"/submissions/{sub_id}/attachments/{attachment_id}") as resp:
        assert resp.status_code == 404
    other_reporter = signed_in(app, login, world, "other_org")
    with other_reporter.get(f"/submissions/{other_sub}/attachments/{attachment_id}") as resp:
        assert resp.status_code == 404, "an attachment is only reachable through its own submission"
    with app.test_client().get(f"/submissions/{sub_id}/attachments/{attachment_id}") as resp:
        assert resp.status_code == 302 and "/login" in resp.location


def test_a_removed_file_stays_readable_only_if_it_was_part_of_a_submitted_version(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    assert _upload(author, world, sub_id, [("first.pdf", pdf_bytes())]).status_code == 302
    first = _attachments(app, sub_id)[0][0]
    assert (
        post(author, f"/submissions/{sub_id}/submit", {"version": state(app, sub_id)[1]}).status_code == 302
    )
    specialist = signed_in(app, login, world, "specialist")
    version = state(app, sub_id)[1]
    assert (
        post(
            specialist, f"/submissions/{sub_id}/return", {"version": version, "comment": "Wrong file"}
        ).status_code
        == 302
    )
    # The author uploads a wrong file, then removes both files.
    assert _upload(author, world, sub_id, [("wrong.pdf", pdf_bytes() + b"%wrong")]).status_code == 302
    wrong = [a for a in _attachments(app, sub_id) if a[1] == "wrong.pdf"][0][0]
    data = report_payload(world, state(app, sub_id)[1], **{f"remove_{first}": "y", f"remove_{wrong}": "y"})
    assert post(author, f"/submissions/{sub_id}/save", data).status_code == 302
    assert all(a[5] for a in _attachments(app, sub_id)), "both marked removed, bytes kept"
    page = author.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert "first.pdf" not in page.split('id="evidence-files"')[1].split("</section>")[0]
    with specialist.get(f"/submissions/{sub_id}/attachments/{first}") as resp:
        assert resp.status_code == 200, "version 1 holds it: its readers may still open it"
    with specialist.get(f"/submissions/{sub_id}/attachments/{wrong}") as resp:
        assert resp.status_code == 404, "never submitted, now removed: gone"
    with app.app_context():
        content = db.session.scalar(
            sa.select(SubmissionVersion.content).where(SubmissionVersion.submission_id == sub_id)
        )
        assert [a["filename"] for a in content["attachments"]] == ["first.pdf"]
