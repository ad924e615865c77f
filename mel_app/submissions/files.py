"""Evidence files: an allow-list of types recognised by their content, never by their name.

A file is accepted only when its bytes are one of the allowed formats *and* its name's extension
agrees with them, so a program renamed `report.pdf` is refused, and a real PNG called
`report.pdf` is refused too (it would open in the wrong application on the reader's computer).

Before a file is stored (docs/SECURITY.md, "Evidence files"):
- archives are refused; office documents (ZIP containers) must be genuine, without macros or
  embedded programs, and unpack to a bounded size (no "zip bombs");
- the configured virus scanner, if any, must call it clean;
- photos are decoded and saved again, upright, without EXIF (GPS position, camera, time), XMP
  or comments, and images too large in pixels are refused before they are decoded.
The SHA-256 kept is that of the stored bytes.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import sys
import unicodedata
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import filetype
from flask_babel import gettext as _
from PIL import Image, ImageOps, JpegImagePlugin

from mel_app import archives, audit
from mel_app.extensions import db
from mel_app.kit.cells import decode_csv_text
from mel_app.kit.errors import DomainError
from mel_app.submissions import scanning

# media type -> the extensions a file of that type may carry
ALLOWED: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "text/csv": ("csv",),
    "text/plain": ("txt",),
}
ALLOWED_EXTENSIONS = sorted({ext for exts in ALLOWED.values() for ext in exts})
ACCEPT_ATTRIBUTE = ",".join(f".{ext}" for ext in ALLOWED_EXTENSIONS)

# What must be inside a genuine office document (a ZIP container).
_ZIP_MEMBERS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "[Content_Types].xml",
        "word/document.xml",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "[Content_Types].xml",
        "xl/workbook.xml",
    ),
    "application/vnd.oasis.opendocument.text": ("mimetype", "content.xml"),
    "application/vnd.oasis.opendocument.spreadsheet": ("mimetype", "content.xml"),
}
# Parts of an office document that run code on the reader's computer: VBA macros, ActiveX
# controls and embedded OLE objects (which can wrap any program).
_ACTIVE_PART = re.compile(r"(?:^|/)(?:vbaproject|activex\d*|oleobject\d*)\.bin$", re.IGNORECASE)
# Limits on what an office document unpacks to; real documents stay far below them.
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
MAX_MEMBERS = 5000
MAX_RATIO = 100  # uncompressed / compressed, for a part larger than RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024
EVIDENCE_ZIP_LIMITS = archives.ZipLimits(
    max_members=MAX_MEMBERS,
    max_total_bytes=MAX_UNPACKED_BYTES,
    max_member_bytes=MAX_UNPACKED_BYTES,
    max_ratio=MAX_RATIO,
    ratio_floor=RATIO_FLOOR,
)
# Archives are named in their own refusal: the files inside should be attached one by one.
_ARCHIVES = frozenset(
    {
        "application/zip",
        "application/x-rar-compressed",
        "application/x-7z-compressed",
        "application/x-tar",
        "application/gzip",
        "application/x-bzip2",
        "application/x-xz",
        "application/x-lzip",
        "application/zstd",
        "application/x-compress",
        "application/x-unix-archive",
        "application/vnd.ms-cab-compressed",
        "application/x-rpm",
        "application/x-deb",
    }
)
# Text that a browser or office program could treat as markup if it were opened inline, or that
# a server would run as page code (PHP, ASP, JSP). Searched for in the whole file: a browser
# sniffing a page, or a PHP interpreter, finds it on any line, not only in the first kilobytes.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|html|head|body|script|svg|math|iframe|frame|frameset|object|embed|img|link|"
    rb"meta|style|form|base)(?![a-z0-9-])|<\s*\?xml|<\?php|<%[=@#!\s-]",
    re.IGNORECASE,
)
# A script for a shell or an interpreter ("#!/bin/sh") or server-side page code opening the file.
_SCRIPT = re.compile(rb"^(?:\xef\xbb\xbf)?\s*(?:#!|<\?php|<%)", re.IGNORECASE)
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_IMAGES = frozenset({"image/png", "image/jpeg"})
# What an image keeps of its metadata when saved again: how to show its colours and transparency.
_IMAGE_INFO_KEPT = ("icc_profile", "transparency")


class FileRejected(DomainError, ValueError):
    """The upload is not acceptable; the message says why, for the person who sent it."""

    http_status = 422


class FileTooLarge(FileRejected):
    pass


class FileInfected(FileRejected):
    """The virus scanner found something: refused, and recorded in the audit trail."""

    def __init__(self, message: str, *, filename: str, signature: str, sha256: str):
        super().__init__(message)
        self.filename, self.signature, self.sha256 = filename, signature, sha256


@dataclass(frozen=True)
class Upload:
    filename: str
    media_type: str
    data: bytes
    sha256: str

    @property
    def size(self) -> int:
        return len(self.data)


def clean_filename(name: str | None) -> str:
    """The last path component, without control characters, at most 255 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip().strip(".")
    if not name:
        return "file"
    stem, ext = os.path.splitext(name)
    return stem[: 255 - len(ext)] + ext if len(name) > 255 else name


def extension(filename: str) -> str:
    return os.path.splitext(filename)[1].lower().lstrip(".")


def _is_text(data: bytes) -> bool:
    if b"\x00" in data:
        return False
    text = decode_csv_text(data)
    if text is None or _TEXT_CONTROL.search(text):
        return False
    return not (_MARKUP.search(data) or _SCRIPT.match(data[:64]))


def _check_office_document(data: bytes, filename: str, members: tuple[str, ...]) -> None:
    """A genuine office document: its parts present, no active content, no zip bomb."""
    damaged = FileRejected(_("%(name)s is damaged or not a genuine document.", name=filename))
    try:
        # The zip-bomb checks read the archive's directory only, before any part is unpacked.
        infos = archives.inspect_zip(data, EVIDENCE_ZIP_LIMITS)
    except archives.ArchiveTooLarge:
        raise FileRejected(
            _(
                "%(name)s unpacks to far more data than a document holds, so it was refused. "
                "Save it again from your office program and attach the new file.",
                name=filename,
            )
        ) from None
    except archives.ArchiveDamaged:
        raise damaged from None
    names = {info.filename for info in infos}
    if not all(member in names for member in members):
        raise damaged
    if any(_ACTIVE_PART.search(name) for name in names):
        raise FileRejected(
            _(
                "%(name)s contains macros or embedded programs. Save it as a plain "
                "document (for example .docx or .xlsx) and attach it again.",
                name=filename,
            )
        )
    if any(info.flag_bits & 0x1 for info in infos):
        raise FileRejected(
            _("%(name)s is protected by a password. Attach it without the password.", name=filename)
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # Reading every part checks that it holds what the directory says (CRC); zipfile
            # never unpacks more than the declared sizes checked above.
            if archive.testzip() is not None:
                raise damaged
    except FileRejected:
        raise
    # zipfile raises NotImplementedError for a compression method it cannot read: such a
    # document is as unreadable to the reviewer's office suite, so it is refused as damaged.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError, EOFError):
        raise damaged from None


def _strip_image(data: bytes, media_type: str, filename: str, *, max_pixels: int) -> bytes:
    """The picture drawn upright and saved again with none of its metadata (EXIF, XMP, comments)."""
    too_large = FileRejected(
        _(
            "%(name)s has too many pixels to be processed (at most %(mp)s megapixels). "
            "Send a smaller version of the picture.",
            name=filename,
            mp=f"{max_pixels / 1_000_000:g}",
        )
    )
    try:
        with warnings.catch_warnings():
            # Pillow warns, then fails, beyond its own limit: both are a refusal here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as source:
                if source.format not in ("PNG", "JPEG"):
                    raise FileRejected(_("%(name)s is damaged or not a genuine picture.", name=filename))
                width, height = source.size
                if width * height > max_pixels:
                    raise too_large
                source.load()
                upright = ImageOps.exif_transpose(source)
                # Only what is needed to show the picture right is carried over to the new file.
                upright.info = {key: source.info[key] for key in _IMAGE_INFO_KEPT if key in source.info}
                out = io.BytesIO()
                if media_type == "image/jpeg":
                    options = {"qtables": source.quantization} if source.quantization else {"quality": 90}
                    subsampling = JpegImagePlugin.get_sampling(source)
                    if subsampling != -1:
                        options["subsampling"] = subsampling
                    upright.save(out, format="JPEG", **options)
                else:
                    upright.save(out, format="PNG")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large from None
    except FileRejected:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, KeyError, IndexError, MemoryError):
        raise FileRejected(_("%(name)s is damaged or not a genuine picture.", name=filename)) from None
    return out.getvalue()


def sniff(data: bytes, filename: str) -> str:
    """The media type of `data` if it is allowed and agrees with the file name; else FileRejected."""
    if not data:
        raise FileRejected(_("%(name)s is empty.", name=filename))
    ext = extension(filename)
    kind = filetype.guess(data)
    if kind is not None:
        media_type = kind.mime
        if media_type in _ARCHIVES:
            raise FileRejected(
                _(
                    "%(name)s is an archive (such as ZIP, RAR or 7z); archives are not accepted. "
                    "Unpack it and attach the files themselves.",
                    name=filename,
                )
            )
        if media_type not in ALLOWED:
            raise FileRejected(
                _(
                    "%(name)s is not one of the accepted kinds of file (%(kinds)s).",
                    name=filename,
                    kinds=_kinds(),
                )
            )
        if media_type in _ZIP_MEMBERS:
            _check_office_document(data, filename, _ZIP_MEMBERS[media_type])
        if media_type == "application/pdf" and not data.lstrip(b"\xef\xbb\xbf").startswith(b"%PDF-"):
            raise FileRejected(_("%(name)s is damaged or not a genuine document.", name=filename))
    elif ext in ("csv", "txt") and _is_text(data):
        media_type = "text/csv" if ext == "csv" else "text/plain"
    else:
        raise FileRejected(
            _("%(name)s is not one of the accepted kinds of file (%(kinds)s).", name=filename, kinds=_kinds())
        )
    if ext not in ALLOWED[media_type]:
        raise FileRejected(
            _(
                "The name of %(name)s does not match its content (a .%(real)s file). "
                "Rename it or save it in the right format.",
                name=filename,
                real=ALLOWED[media_type][0],
            )
        )
    return media_type


def _kinds() -> str:
    return ", ".join(
        ext.upper() for ext in ("pdf", "png", "jpeg", "docx", "xlsx", "odt", "ods", "csv", "txt")
    )


def receive(stream, filename: str | None, *, max_bytes: int) -> tuple[str, bytes]:
    """The clean name and the bytes of one uploaded file (at most max_bytes); else FileTooLarge."""
    name = clean_filename(filename)
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(
            _(
                "%(name)s is larger than the limit of %(mb)s MB per file.",
                name=name,
                mb=f"{max_bytes / (1024 * 1024):g}",
            )
        )
    return name, data


def declared_pixels(data: bytes) -> int:
    """Width × height as the picture's header states them, read without decoding the picture.

    0 for anything that is not a PNG or JPEG (or whose header cannot be read: the full check
    refuses it later as damaged); more than any limit for a header beyond Pillow's own bound.
    """
    kind = filetype.guess(data)
    if kind is None or kind.mime not in _IMAGES:
        return 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as picture:
                width, height = picture.size
    except Image.DecompressionBombError:
        return sys.maxsize
    except (OSError, ValueError, SyntaxError, EOFError, TypeError, KeyError, IndexError, MemoryError):
        return 0
    return width * height


def check_upload(
    name: str,
    data: bytes,
    *,
    max_pixels: int = 50_000_000,
    scanner: scanning.Scanner | None = None,
) -> Upload:
    """Check the bytes of one received file and make them safe to store.

    Raises FileRejected (FileInfected) with a message for the person who sent it.
    """
    media_type = sniff(data, name)
    if scanner is not None:
        # The bytes as received are scanned, before any decoder of ours reads them.
        result = scanning.scan(scanner, data, name)
        if result.verdict == "infected":
            raise FileInfected(
                _(
                    "%(name)s was refused: the virus scanner found %(threat)s in it. "
                    "Do not open it on your computer; ask your IT support for help.",
                    name=name,
                    threat=result.signature,
                ),
                filename=name,
                signature=result.signature,
                sha256=hashlib.sha256(data).hexdigest(),
            )
        if result.verdict != "clean":
            raise FileRejected(
                _(
                    "%(name)s could not be checked for viruses just now, so it was not saved. "
                    "Please try again in a few minutes.",
                    name=name,
                )
            )
    if media_type in _IMAGES:
        data = _strip_image(data, media_type, name, max_pixels=max_pixels)
    return Upload(filename=name, media_type=media_type, data=data, sha256=hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class EvidenceLimits:
    """What one save may bring: files, bytes per file, pixels per picture and in all."""

    max_files: int
    max_bytes: int
    max_pixels: int
    max_total_pixels: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EvidenceLimits:
        return cls(
            max_files=config["MAX_FILES_PER_REQUEST"],
            max_bytes=config["MAX_UPLOAD_BYTES"],
            max_pixels=config["MAX_IMAGE_PIXELS"],
            max_total_pixels=config["MAX_PIXELS_PER_REQUEST"],
        )


@dataclass
class Evidence:
    """The files of one save, checked: those fit to store, or why they were refused."""

    uploads: list[Upload] = field(default_factory=list)
    # Files the virus scanner refused, for the audit trail (the caller records them).
    infected: list[FileInfected] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    too_large: bool = False  # a file was over the size limit (the page answers 413)


def check_evidence(files: Sequence[tuple[IO[bytes], str | None]], limits: EvidenceLimits) -> Evidence:
    """Read and check the files sent in one save (the page's form and the API alike).

    `files` are (stream, name as sent). The whole save is refused when any file is: `refusals`
    then says why, file by file. The limits per request come first, before any file is sniffed,
    scanned or decoded: a save with many pictures, each allowed on its own, would otherwise keep
    the worker decoding until it is killed.
    """
    found = Evidence()
    if len(files) > limits.max_files:
        found.refusals.append(
            _(
                "You attached %(count)d files; at most %(max)d can be added in one save. "
                "Nothing was added: attach up to %(max)d, save, then add the others.",
                count=len(files),
                max=limits.max_files,
            )
        )
        return found
    received = _receive_all(files, limits, found)
    if not found.refusals:
        found.refusals.extend(_pixel_refusals(received, limits))
    if not found.refusals:
        _check_each(received, limits, found)
    return found


def _receive_all(
    files: Sequence[tuple[IO[bytes], str | None]], limits: EvidenceLimits, found: Evidence
) -> list[tuple[str, bytes]]:
    """Each file's name and bytes; one over the size limit is refused in `found` instead."""
    received: list[tuple[str, bytes]] = []
    for stream, filename in files:
        try:
            received.append(receive(stream, filename, max_bytes=limits.max_bytes))
        except FileTooLarge as exc:
            found.too_large = True
            found.refusals.append(str(exc))
    return received


def _pixel_refusals(received: list[tuple[str, bytes]], limits: EvidenceLimits) -> list[str]:
    """Pictures too large to decode, read from their headers alone: each picture over the limit,
    else all of them together over the limit of a save."""
    pixels = [(name, declared_pixels(data)) for name, data in received]
    too_big = [name for name, count in pixels if count > limits.max_pixels]
    if too_big:
        return [
            _(
                "%(name)s has too many pixels to be processed (at most %(mp)s megapixels). "
                "Send a smaller version of the picture.",
                name=name,
                mp=f"{limits.max_pixels / 1_000_000:g}",
            )
            for name in too_big
        ]
    if sum(count for _name, count in pixels) > limits.max_total_pixels:
        return [
            _(
                "These pictures together have more than %(mp)s megapixels, more than one save "
                "can process. Nothing was added: attach fewer pictures at a time, or smaller "
                "versions of them.",
                mp=f"{limits.max_total_pixels / 1_000_000:g}",
            )
        ]
    return []


def _check_each(received: list[tuple[str, bytes]], limits: EvidenceLimits, found: Evidence) -> None:
    """Sniff, decode and scan each file: the good ones join `found.uploads`, the others its refusals."""
    scanner = scanning.configured_scanner()
    for name, data in received:
        try:
            found.uploads.append(check_upload(name, data, max_pixels=limits.max_pixels, scanner=scanner))
        except FileInfected as exc:
            found.infected.append(exc)
            found.refusals.append(str(exc))
        except FileRejected as exc:
            found.refusals.append(str(exc))


def read_upload(
    stream,
    filename: str | None,
    *,
    max_bytes: int,
    max_pixels: int = 50_000_000,
    scanner: scanning.Scanner | None = None,
) -> Upload:
    """Read one uploaded file (at most max_bytes), check it and make it safe to store.

    Raises FileRejected (FileTooLarge, FileInfected) with a message for the person who sent it.
    """
    name, data = receive(stream, filename, max_bytes=max_bytes)
    return check_upload(name, data, max_pixels=max_pixels, scanner=scanner)


def record_infected_uploads(target: Any, *, actor: Any, refused: Sequence[FileInfected]) -> None:
    """Record in the audit trail each file the virus scanner refused (nothing else changes): on
    the report or the project the file was sent for."""
    for item in refused:
        audit.record(
            db.session,
            "evidence.infected",
            actor=actor,
            target=target,
            reason=item.signature,
            after={"filename": item.filename, "sha256": item.sha256, "signature": item.signature},
        )
