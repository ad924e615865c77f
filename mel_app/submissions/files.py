"""Evidence files: an allow-list of types recognised by their content, never by their name.

A file is accepted only when its bytes are one of the allowed formats *and* its name's extension
agrees with them, so a program renamed `report.pdf` is refused, and a real PNG called
`report.pdf` is refused too (it would open in the wrong application on the reader's computer).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype
from flask_babel import gettext as _

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
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("word/document.xml",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xl/workbook.xml",),
    "application/vnd.oasis.opendocument.text": ("mimetype", "content.xml"),
    "application/vnd.oasis.opendocument.spreadsheet": ("mimetype", "content.xml"),
}
# Text that a browser or office program could treat as markup or a script if it were opened inline.
_MARKUP = re.compile(rb"<\s*(?:!doctype|html|script|svg|iframe|object|body|\?xml)", re.IGNORECASE)
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


class FileRejected(ValueError):
    """The upload is not acceptable; the message says why, for the person who sent it."""


class FileTooLarge(FileRejected):
    pass


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
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheet programs in French and Spanish often save CSV in Windows-1252.
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return False
    if _TEXT_CONTROL.search(text):
        return False
    return not _MARKUP.search(data[:4096])


def _zip_has(data: bytes, members: tuple[str, ...]) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    # Macro-enabled documents are not evidence we want to pass around.
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return False
    return all(member in names for member in members)


def sniff(data: bytes, filename: str) -> str:
    """The media type of `data` if it is allowed and agrees with the file name; else FileRejected."""
    if not data:
        raise FileRejected(_("%(name)s is empty.", name=filename))
    ext = extension(filename)
    kind = filetype.guess(data)
    if kind is not None:
        media_type = kind.mime
        if media_type not in ALLOWED:
            raise FileRejected(
                _(
                    "%(name)s is not one of the accepted kinds of file (%(kinds)s).",
                    name=filename,
                    kinds=_kinds(),
                )
            )
        if media_type in _ZIP_MEMBERS and not _zip_has(data, _ZIP_MEMBERS[media_type]):
            raise FileRejected(_("%(name)s is damaged or not a genuine document.", name=filename))
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


def read_upload(stream, filename: str | None, *, max_bytes: int) -> Upload:
    """Read one uploaded file (at most max_bytes) and check its type. Raises FileRejected."""
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
    media_type = sniff(data, name)
    return Upload(filename=name, media_type=media_type, data=data, sha256=hashlib.sha256(data).hexdigest())
