"""Writers of the tabular formats: XLSX workbook, ZIP of CSV files, JSON document.

Each writer takes the table batches as they come from the database and produces the file as a
stream of byte chunks, so memory stays flat whatever the number of rows:

- XLSX with XlsxWriter's constant-memory mode (each row goes to a temporary file as soon as the
  next begins); the workbook is assembled when complete and then streamed;
- CSV files written straight into a ZIP stream (data descriptors, no seeking back);
- JSON written row by row.

Text cells of the spreadsheet formats (CSV and XLSX) are already neutralised by the queries (see
`ExportContext.text`): a cell starting with =, +, -, @, a tab or a carriage return gets a leading
quote, so no spreadsheet ever runs it as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import xlsxwriter
from flask_babel import gettext as _
from sqlalchemy.engine import Connection

from mel_app.exports.scope import ExportContext
from mel_app.exports.tables import KIND_NAMES, TABLES, Kind, Table
from mel_app.kit.cells import csv_safe

CHUNK_BYTES = 256 * 1024
XLSX_MAX_ROWS = 1_048_576  # rows of an Excel worksheet, the header included
XLSX_MAX_TEXT = 32_767  # characters of an Excel cell


@dataclass
class About:
    """What the About part of an export says: where the data comes from and how to trace it back."""

    generated_at: datetime
    generated_by: str
    app_version: str
    audit_head_hash: str
    audit_head_id: int
    format: str
    scope: dict[str, Any]
    scorer_names: bool
    rows: dict[str, int] = field(default_factory=dict)

    def items(self) -> list[tuple[str, Any]]:
        scope = self.scope
        items: list[tuple[str, Any]] = [
            ("export", _("Consolidated results of ACTRAV MEL")),
            ("generated_at", self.generated_at),
            ("generated_by", self.generated_by),
            ("app_version", self.app_version),
            ("audit_head_hash", self.audit_head_hash),
            ("audit_head_event_id", self.audit_head_id),
            ("format", self.format),
            ("scope_projects", "; ".join(scope["projects"]) if scope["projects"] != ["*"] else _("all")),
            ("scope_period_from", scope["period_from"] or ""),
            ("scope_period_to", scope["period_to"] or ""),
            ("scope_countries", ", ".join(scope["countries"]) or _("all")),
            ("scope_constituencies", ", ".join(scope["constituencies"]) or _("all")),
            ("scope_statuses", ", ".join(scope["statuses"])),
            (
                "scorer_names",
                _("given where the reader is an evaluator or specialist of the project")
                if self.scorer_names
                else _("not given"),
            ),
        ]
        items += [(f"rows_{name}", count) for name, count in self.rows.items()]
        return items

    def document(self) -> dict[str, Any]:
        """The About part as JSON (about.json of the ZIP, "about" of the JSON document)."""
        return {
            "export": _("Consolidated results of ACTRAV MEL"),
            "generated_at": iso_datetime(self.generated_at),
            "generated_by": self.generated_by,
            "app_version": self.app_version,
            "audit_head_hash": self.audit_head_hash,
            "audit_head_event_id": self.audit_head_id,
            "format": self.format,
            "scope": self.scope,
            "scorer_names": self.scorer_names,
            "rows": self.rows,
            "tables": data_dictionary(),
        }


def data_dictionary() -> list[dict[str, Any]]:
    return [
        {
            "name": table.name,
            "title": str(table.title),
            "description": str(table.description),
            "columns": [
                {"name": c.key, "type": KIND_NAMES[c.kind], "description": str(c.description)}
                for c in table.columns
            ],
        }
        for table in TABLES
    ]


# --- spelling of values in text formats -------------------------------------------------------


def decimal_text(value: Decimal | float) -> str:
    """A number without trailing zeros or exponent: 12000.0000 → 12000, 0.5000 → 0.5."""
    text = str(value)  # fast, and plain for the database's NUMERIC(18, 4) values
    if "E" in text or "e" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


# Timestamps repeat a lot (every value of a report shares its dates): spell each once.
_ISO_CACHE: dict[datetime, str] = {}


def iso_datetime(value: datetime) -> str:
    """ISO 8601 in UTC; naive values are UTC already (SQLite)."""
    text = _ISO_CACHE.get(value)
    if text is None:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value
        text = utc.strftime("%Y-%m-%dT%H:%M:%SZ")
        if len(_ISO_CACHE) >= 4096:
            _ISO_CACHE.clear()
        _ISO_CACHE[value] = text
    return text


def _csv_converters(table: Table) -> list[tuple[int, Callable[[Any], Any]]]:
    converters: dict[Kind, Callable[[Any], Any]] = {
        Kind.decimal: decimal_text,
        Kind.ratio: decimal_text,
        Kind.number: repr,
        Kind.datetime: iso_datetime,
        Kind.boolean: lambda v: "true" if v else "false",
    }
    return [(i, converters[c.kind]) for i, c in enumerate(table.columns) if c.kind in converters]


def csv_cells(table: Table, rows: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
    """Rows of `table` spelled as its CSV file spells them (for a CSV written outside the ZIP)."""
    return _convert(rows, _csv_converters(table))


def _convert(batch: Sequence[Sequence[Any]], converters: list[tuple[int, Callable[[Any], Any]]]):
    if not converters:
        return batch
    out = []
    for row in batch:
        row = list(row)
        for i, convert in converters:
            value = row[i]
            if value is not None:
                row[i] = convert(value)
        out.append(row)
    return out


# --- CSV in a ZIP -----------------------------------------------------------------------------


class _Sink(io.RawIOBase):
    """A write-only, non-seekable file that hands what was written to the response in chunks."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._position = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self._chunks.append(data)
        self._size += len(data)
        self._position += len(data)
        return len(data)

    def tell(self) -> int:
        return self._position

    @property
    def pending(self) -> int:
        return self._size

    def drain(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks.clear()
        self._size = 0
        return data


def _zip_entry(name: str, about: About, compresslevel: int) -> zipfile.ZipInfo:
    """A ZIP entry dated when the export was made (not 1980), readable once unpacked."""
    info = zipfile.ZipInfo(name, date_time=about.generated_at.astimezone(UTC).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    if hasattr(info, "compress_level"):  # Python 3.13+
        info.compress_level = compresslevel
    else:
        info._compresslevel = compresslevel
    return info


def write_csv_zip(
    conn: Connection, ctx: ExportContext, about: About, *, bom: bool = False, compresslevel: int = 1
) -> Iterator[bytes]:
    """A ZIP with one UTF-8 CSV file per table (a BOM on request, for Excel) and about.json."""
    sink = _Sink()
    encoding = "utf-8-sig" if bom else "utf-8"
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as zf:
        for table in TABLES:
            # Tables read straight from the database come spelled as text already (text_cells).
            converters = [] if ctx.text_cells and table.shape is None else _csv_converters(table)
            count = 0
            raw = zf.open(_zip_entry(f"{table.name}.csv", about, compresslevel), "w", force_zip64=True)
            text = io.TextIOWrapper(raw, encoding=encoding, newline="", write_through=False)
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow([c.key for c in table.columns])
            for batch in table.batches(conn, ctx):
                writer.writerows(_convert(batch, converters))
                count += len(batch)
                if sink.pending >= CHUNK_BYTES:
                    yield sink.drain()
            text.close()
            about.rows[table.name] = count
            if sink.pending >= CHUNK_BYTES:
                yield sink.drain()
        zf.writestr(
            _zip_entry("about.json", about, compresslevel),
            json.dumps(about.document(), ensure_ascii=False, indent=2) + "\n",
        )
    yield sink.drain()


# --- JSON -------------------------------------------------------------------------------------


def _json_encoder(kind: Kind) -> Callable[[Any], str]:
    if kind in (Kind.decimal, Kind.ratio):
        return decimal_text
    if kind is Kind.integer:
        return lambda v: str(int(v))
    if kind is Kind.number:
        return repr
    if kind is Kind.boolean:
        return lambda v: "true" if v else "false"
    if kind is Kind.datetime:
        return lambda v: '"' + iso_datetime(v) + '"'
    if kind is Kind.date:
        return lambda v: '"' + v.isoformat() + '"'
    return lambda v: json.dumps(str(v), ensure_ascii=False)


def write_json(conn: Connection, ctx: ExportContext, about: About, **_options: Any) -> Iterator[bytes]:
    """{"tables": {name: [row objects]}, "about": {...}} — numbers as numbers, dates as ISO 8601."""
    parts: list[str] = ['{"tables":{']
    size = 0
    for t_index, table in enumerate(TABLES):
        keys = [json.dumps(c.key) + ":" for c in table.columns]
        encoders = [_json_encoder(c.kind) for c in table.columns]
        parts.append(("," if t_index else "") + json.dumps(table.name) + ":[")
        count = 0
        for batch in table.batches(conn, ctx):
            for row in batch:
                body = ",".join(
                    key + ("null" if value is None else encode(value))
                    for key, encode, value in zip(keys, encoders, row, strict=True)
                )
                parts.append(("\n{" if count == 0 else ",\n{") + body + "}")
                size += len(body)
                count += 1
            if size >= CHUNK_BYTES:
                yield "".join(parts).encode()
                parts, size = [], 0
        parts.append("\n]" if count else "]")
        about.rows[table.name] = count
    parts.append('},\n"about":' + json.dumps(about.document(), ensure_ascii=False, indent=2) + "}\n")
    yield "".join(parts).encode()


# --- XLSX -------------------------------------------------------------------------------------

_SHEET_NAME_FORBIDDEN = str.maketrans({c: " " for c in "[]:*?/\\"})


def sheet_name(title: str, used: set[str]) -> str:
    base = title.translate(_SHEET_NAME_FORBIDDEN).strip()[:31] or "Sheet"
    name, n = base, 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


class _XlsxBook:
    def __init__(self, path: str, tmpdir: str) -> None:
        self.book = xlsxwriter.Workbook(
            path,
            {
                "constant_memory": True,
                "tmpdir": tmpdir,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "remove_timezone": True,
                "default_date_format": "yyyy-mm-dd",
            },
        )
        add = self.book.add_format
        self.header = add({"bold": True, "bg_color": "#E7EEF7", "bottom": 1, "text_wrap": False})
        self.formats = {
            Kind.date: add({"num_format": "yyyy-mm-dd"}),
            # The values are UTC (as the About part says); the cell says so too.
            Kind.datetime: add({"num_format": 'yyyy-mm-dd hh:mm:ss "UTC"'}),
            Kind.ratio: add({"num_format": "0.0%"}),
            Kind.number: add({"num_format": "0.00"}),
        }
        self.used_names: set[str] = set()

    def sheet(self, title: str, table: Table | None = None):
        ws = self.book.add_worksheet(sheet_name(title, self.used_names))
        if table is not None:
            for i, column in enumerate(table.columns):
                ws.set_column(i, i, column.width, self.formats.get(column.kind))
            ws.write_row(0, 0, [c.key for c in table.columns], self.header)
            ws.freeze_panes(1, 0)
        return ws

    def cell_writers(self, ws, table: Table) -> list[Callable[[int, int, Any], Any]]:
        # XlsxWriter's undecorated cell methods (its public ones only add A1-notation parsing, a
        # measurable cost over millions of cells); rows and columns here are always numbers.
        write_string, write_number = ws._write_string, ws._write_number
        write_datetime, write_boolean = ws._write_datetime, ws._write_boolean
        ratio, number_format = self.formats[Kind.ratio], self.formats[Kind.number]
        date_format, datetime_format = self.formats[Kind.date], self.formats[Kind.datetime]

        def text(row: int, col: int, value: Any) -> None:
            if value == "":
                return  # an empty cell
            value = str(value)
            if len(value) > XLSX_MAX_TEXT:
                value = value[: XLSX_MAX_TEXT - 1] + "…"
            write_string(row, col, value)

        writers: dict[Kind, Callable[[int, int, Any], Any]] = {
            Kind.text: text,
            Kind.long_text: text,
            Kind.integer: lambda r, c, v: write_number(r, c, v),
            Kind.decimal: lambda r, c, v: write_number(r, c, float(v)),
            Kind.ratio: lambda r, c, v: write_number(r, c, float(v), ratio),
            Kind.number: lambda r, c, v: write_number(r, c, float(v), number_format),
            Kind.date: lambda r, c, v: write_datetime(r, c, v, date_format),
            Kind.datetime: lambda r, c, v: write_datetime(r, c, v, datetime_format),
            Kind.boolean: lambda r, c, v: write_boolean(r, c, bool(v)),
        }
        return [writers[c.kind] for c in table.columns]

    def write_table(self, conn: Connection, ctx: ExportContext, table: Table) -> int:
        if ctx.excel_cells and (table.shape is None or table.shape_keeps_cells):
            return self.write_cells(conn, ctx, table)
        title = str(table.title)
        ws = self.sheet(title, table)
        writers = self.cell_writers(ws, table)
        last_col = len(table.columns) - 1
        row_index, total, part = 0, 0, 1
        for batch in table.batches(conn, ctx):
            for row in batch:
                if row_index == XLSX_MAX_ROWS - 1:
                    # A worksheet is full: the table continues on the next one, with its header.
                    ws.autofilter(0, 0, row_index, last_col)
                    part += 1
                    ws = self.sheet(f"{title} ({part})", table)
                    writers = self.cell_writers(ws, table)
                    row_index = 0
                row_index += 1
                for col, (write, value) in enumerate(zip(writers, row, strict=True)):
                    if value is not None:
                        write(row_index, col, value)
            total += len(batch)
        ws.autofilter(0, 0, max(row_index, 1), last_col)
        return total

    def write_cells(self, conn: Connection, ctx: ExportContext, table: Table) -> int:
        """A table whose rows come from the database as XLSX cells (`ExportContext.excel_cells`):
        text already made inert, numbers as floats or integers, dates and timestamps as spreadsheet
        day numbers, flags as booleans. Each row goes to XlsxWriter as it is, in one `write_row`;
        the column's number format (set once, on the column) is the cell's."""
        title = str(table.title)
        ws = self.sheet(title, table)
        last_col = len(table.columns) - 1
        row_index, total, part = 0, 0, 1
        for batch in table.batches(conn, ctx):
            total += len(batch)
            start = 0
            while start < len(batch):
                room = XLSX_MAX_ROWS - 1 - row_index
                if room == 0:
                    # A worksheet is full: the table continues on the next one, with its header.
                    ws.autofilter(0, 0, row_index, last_col)
                    part += 1
                    ws = self.sheet(f"{title} ({part})", table)
                    row_index, room = 0, XLSX_MAX_ROWS - 1
                rows = batch if start == 0 and len(batch) <= room else batch[start : start + room]
                put = ws.write_row
                for row in rows:
                    row_index += 1
                    if put(row_index, 0, row):
                        # A text longer than a cell holds: XlsxWriter stopped the row there.
                        _write_long_row(ws, row_index, row)
                start += len(rows)
        ws.autofilter(0, 0, max(row_index, 1), last_col)
        return total

    def write_about(self, ws, about: About) -> None:
        ws.set_column(0, 0, 28)
        ws.set_column(1, 1, 28)
        ws.set_column(2, 2, 20)
        ws.set_column(3, 3, 90)
        ws.write_row(0, 0, [_("About this export"), ""], self.header)
        ws.freeze_panes(1, 0)
        row = 1
        for key, value in about.items():
            ws.write_string(row, 0, key)
            if isinstance(value, datetime):
                ws.write_datetime(row, 1, value, self.formats[Kind.datetime])
            elif isinstance(value, int):
                ws.write_number(row, 1, value)
            else:
                # Holds the reader's name, which they chose themselves.
                ws.write_string(row, 1, csv_safe(str(value)))
            row += 1
        row += 1
        ws.write_row(row, 0, [_("Data dictionary"), "", "", ""], self.header)
        row += 1
        ws.write_row(row, 0, ["table", "column", "type", "description"], self.header)
        for table in TABLES:
            row += 1
            ws.write_row(row, 0, [table.name, "", "", f"{table.title}: {table.description}"])
            for column in table.columns:
                row += 1
                ws.write_row(row, 0, ["", column.key, KIND_NAMES[column.kind], str(column.description)])


def _write_long_row(ws, row_index: int, row: Sequence[Any]) -> None:
    """A row with a text too long for a cell, cut to what a cell holds (with an ellipsis)."""
    for col, value in enumerate(row):
        if value.__class__ is str and len(value) > XLSX_MAX_TEXT:
            value = value[: XLSX_MAX_TEXT - 1] + "…"
        ws._write(row_index, col, value, None)  # XlsxWriter cuts what is still too long for it


def write_xlsx(conn: Connection, ctx: ExportContext, about: About, **_options: Any) -> Iterator[bytes]:
    """One workbook: About (scope, provenance, data dictionary) first, then a sheet per table."""
    with tempfile.TemporaryDirectory(prefix="mel-export-") as tmpdir:
        path = os.path.join(tmpdir, "export.xlsx")
        xlsx = _XlsxBook(path, tmpdir)
        about_sheet = xlsx.sheet(_("About"))
        for table in TABLES:
            about.rows[table.name] = xlsx.write_table(conn, ctx, table)
        # Written last, on the first sheet, so that it states the rows actually written.
        xlsx.write_about(about_sheet, about)
        xlsx.book.close()
        with open(path, "rb") as workbook:
            while chunk := workbook.read(CHUNK_BYTES):
                yield chunk
