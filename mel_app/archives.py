"""Inspecting an uploaded ZIP container (XLSX, DOCX, ODT, ODS) before anything unpacks it.

Office documents are ZIP archives, and a small archive can unpack to gigabytes ("zip bomb"): a
236 KB workbook whose shared strings unpack to 92 MB kept a worker busy for 30 seconds and took
623 MB of memory while the spreadsheet reader parsed it. Every uploaded container — evidence
files and framework imports alike — goes through `inspect_zip` first, which reads only the
archive's central directory (names, sizes, compression method) and refuses it when it declares
too many members, too much data in total or in one member, or a member compressed far better
than real documents are.

The declared sizes are binding: Python's zipfile never returns more bytes for a member than its
directory entry declares (a member that holds more fails its CRC), so a reader that opens an
archive accepted here never unpacks more than the total checked. That holds for the two methods
office documents use, stored and deflate; the others (bzip2, LZMA, ...) decompress a whole
chunk before the size is applied, so an archive using them is refused without reading them.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from mel_app.kit.errors import DomainError


class ArchiveRefused(DomainError, ValueError):
    """The archive cannot be opened safely; `reason` says which check it failed."""

    http_status = 422

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class ArchiveTooLarge(ArchiveRefused):
    """It would unpack to more than the limits allow (a zip bomb, or far more than a document)."""


class ArchiveDamaged(ArchiveRefused):
    """It is not a readable ZIP archive, or uses a compression method documents never use."""


@dataclass(frozen=True)
class ZipLimits:
    max_members: int
    max_total_bytes: int  # declared uncompressed size of all members together
    max_member_bytes: int  # declared uncompressed size of any one member
    max_ratio: int  # uncompressed / compressed, for a member larger than ratio_floor
    ratio_floor: int


# Compression methods office programs write; the only ones whose output zipfile bounds as it reads.
_SAFE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED})


def inspect_zip(data: bytes, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The members of the archive `data`, from its directory alone; raises ArchiveRefused.

    Nothing is decompressed here: the checks use the sizes and methods the directory declares,
    which zipfile then holds every read to.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, ValueError, OSError, EOFError):
        raise ArchiveDamaged("unreadable") from None
    if len(infos) > limits.max_members:
        raise ArchiveTooLarge("members")
    total = 0
    for info in infos:
        if info.compress_type not in _SAFE_METHODS:
            raise ArchiveDamaged("method")
        if info.file_size > limits.max_member_bytes:
            raise ArchiveTooLarge("member size")
        ratio_applies = info.file_size > limits.ratio_floor
        if ratio_applies and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ArchiveTooLarge("ratio")
        total += info.file_size
        if total > limits.max_total_bytes:
            raise ArchiveTooLarge("total size")
    return infos
