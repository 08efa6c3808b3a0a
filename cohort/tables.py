"""Reading a spreadsheet a person uploads: CSV or XLSX, whatever it claims to be, into rows of text
cells under a header, or a clear message of why not (TableError). Nothing here knows what the
columns mean (cohort/importing.py does).

What is refused, each with its own message: an empty file, a file that is neither CSV nor XLSX
(told by its content, not its name: a PDF, a web page, an OpenDocument spreadsheet, binary data),
an Excel 97-2003 workbook, a workbook protected by a password, a damaged workbook, one that would
unpack to more than it can hold, more rows or columns than any clinic's cohort has, a header with
a name twice. A cell holding a formula is kept and marked: the import refuses it on its row and
column. Text that is not UTF-8 is read as Windows-1252 (Latin-1), and the table says so.

Rows keep the numbers the spreadsheet shows them under: blank rows (above the header, or between
rows) are skipped, but the rows after them keep their own numbers (Table.number).
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import sys
import zipfile
from array import array
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_noop, override, pgettext

MAX_ROWS = 200_000  # four times the largest cohort the import is measured with (bench)
MAX_COLUMNS = 300
MAX_CELL_CHARACTERS = 2_000
MAX_UNPACKED_BYTES = 600 * 1024 * 1024  # an XLSX unpacks to ~10x its size; more is a zip bomb
FORMULA_START = "="
# The exports put an apostrophe before text a spreadsheet would run as a formula (exports.py).
DEFUSED_START = ("'=", "'+", "'-", "'@", "'\t", "'\r")
CONTROL_CHARACTERS = re.compile("[\x01-\x08\x0e-\x1f\x7f]")  # not tab, line breaks or form feed
BLANK_BYTES = b"\xef\xbb\xbf\xff\xfe \t\r\n"  # what an empty text file may still hold: a BOM, blank lines
# A workbook saved with a password is an encrypted package in an OLE file, like an .xls: this
# stream's name (UTF-16) tells the two apart.
ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")


class Message(str):
    """Words for the person who sent the file, kept as their parts so they can be shown in the
    reader's language (issue 16): an English message id (marked with gettext_noop or taken from a
    form's gettext_lazy message), its context, and its `%(name)s` values. As a str it is the
    English sentence (what logs, the command line and the stored text say); `words()` is the
    sentence in the active language. A value that is a Message is translated too; any other value
    (a cell, a column name, a number) is shown as it is. Picklable (the check runs in worker
    processes) and kept as JSON (`as_data`, `from_data`) with an import's preview."""

    msgid: str
    params: dict
    context: str

    def __new__(cls, msgid: str, params: dict | None = None, context: str = "") -> Message:
        params = dict(params or {})
        english = (
            msgid % {name: str(value) if isinstance(value, Message) else value for name, value in params.items()}
            if params
            else msgid
        )
        message = super().__new__(cls, english)
        message.msgid, message.params, message.context = msgid, params, context
        return message

    def __reduce__(self):
        return (Message, (self.msgid, self.params, self.context))

    def words(self) -> str:
        """The message in the active language."""
        msgid = pgettext(self.context, self.msgid) if self.context else gettext(self.msgid)
        if not self.params:
            return msgid
        return msgid % {
            name: words(value) if isinstance(value, Message) else value for name, value in self.params.items()
        }

    def as_data(self) -> dict:
        """For JSON: values that JSON does not take (a Decimal, a date) as the text they show as."""
        params = {
            name: value.as_data() if isinstance(value, Message) else value if _json_plain(value) else str(value)
            for name, value in self.params.items()
        }
        return {"msgid": self.msgid, "params": params, "context": self.context}

    @classmethod
    def from_data(cls, data) -> str:
        """`as_data`'s output back as a Message; a plain string (kept before issue 16) as it is."""
        if not isinstance(data, dict):
            return data
        params = {
            name: cls.from_data(value) if isinstance(value, dict) else value for name, value in data["params"].items()
        }
        return cls(data["msgid"], params, data.get("context", ""))

    @classmethod
    def of(cls, message, params: dict | None = None) -> Message:
        """A form's error (a ValidationError's message and params) as a Message: a lazy message
        keeps its message id (and context), so it is translated when shown, not when checked."""
        msgid, context = _msgid(message)
        values = {}
        for name, value in (params or {}).items():
            values[name] = cls.of(value) if isinstance(value, Promise) else value
        return cls(msgid, values, context)


def _json_plain(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _msgid(message) -> tuple[str, str]:
    """The message id and context of a gettext_lazy/pgettext_lazy message; else its English."""
    if isinstance(message, Promise):
        reduced = message.__reduce__()[1]
        function, args = reduced[0], reduced[1]
        if function is gettext and len(args) == 1:
            return str(args[0]), ""
        if function is pgettext and len(args) == 2:
            return str(args[1]), str(args[0])
    with override("en"):
        return str(message), ""


def words(value) -> str:
    """A Message in the active language; any other value as str() (a plain string as it is)."""
    if isinstance(value, Message):
        return value.words()
    return "" if value is None else str(value)


class TableError(Exception):
    """The file cannot be read as a table: the message says why, for the person who sent it."""


@dataclass
class Table:
    columns: list[str]
    rows: list[tuple[str, ...]]  # without blank rows: rows[0] is the first row under the header
    kind: str  # "CSV" or "XLSX"
    notes: list[str] = field(default_factory=list)  # worth knowing, not errors (the encoding)
    formulas: set[tuple[int, int]] = field(default_factory=set)  # (index in rows, column index)
    # Each row's number as the spreadsheet shows it (4 bytes a row); empty while rows[i] is row
    # i + 2 (the header in row 1, no blank row skipped): the usual table keeps no list.
    numbers: array = field(default_factory=lambda: array("I"))
    header_number: int = 1

    def number(self, index: int) -> int:
        """rows[index]'s number as the spreadsheet shows it (the header and blank rows count)."""
        return self.numbers[index] if self.numbers else index + 2


def read(path: Path) -> Table:
    """The table in the file at `path` (CSV or XLSX, told by its first bytes)."""
    with open(path, "rb") as handle:
        start = handle.read(512)
    if not start.strip(BLANK_BYTES) and len(start) < 512:
        raise TableError(
            Message(gettext_noop("The file is empty."))
        )  # (a longer run of blank lines: _read_csv says so)
    if start.startswith(b"PK\x03\x04"):
        return _read_xlsx(path)
    if start.startswith(b"\xd0\xcf\x11\xe0"):
        if ENCRYPTED_PACKAGE in path.read_bytes():
            raise TableError(
                Message(
                    gettext_noop(
                        "The workbook is protected by a password, so it cannot be read: save a copy without the "
                        "password (File › Info › Protect Workbook › Encrypt with Password, emptied) and upload that."
                    )
                )
            )
        raise TableError(
            Message(
                gettext_noop(
                    "This is an Excel 97-2003 workbook (.xls), which the import does not read: save it as "
                    "an Excel workbook (.xlsx) or as CSV and upload that."
                )
            )
        )
    if start.startswith(b"%PDF"):
        raise TableError(Message(gettext_noop("This is a PDF, not a table: upload the CSV or XLSX file.")))
    if start.lstrip(BLANK_BYTES).startswith(b"<"):
        raise TableError(
            Message(
                gettext_noop(
                    "This is a web page or an XML file, not a table (some systems export those under an .xls "
                    "name): open it in Excel, save it as an Excel workbook (.xlsx) or CSV, and upload that."
                )
            )
        )
    return _read_csv(path)


# -- CSV -------------------------------------------------------------------------------------------


def _decode(raw: bytes) -> tuple[str, str | Message]:
    """The text and a note on its encoding ("" for UTF-8)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), ""
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return text, Message(
        gettext_noop(
            "The file is not UTF-8: it was read as Windows-1252 (Latin-1), the encoding Excel uses on "
            "Windows. Check that names with accents read right below; if not, save the file as "
            "“CSV UTF-8” and upload it again."
        )
    )


def _read_csv(path: Path) -> Table:
    raw = path.read_bytes()
    binary = TableError(Message(gettext_noop("This is not a CSV or XLSX file: it holds binary data, not text.")))
    if b"\x00" in raw and not raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise binary
    text, note = _decode(raw)
    del raw
    if CONTROL_CHARACTERS.search(text, 0, 4096):  # no table holds these; binary data soon does
        raise binary
    try:
        dialect = csv.Sniffer().sniff(text[:65536], delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    csv.field_size_limit(MAX_CELL_CHARACTERS * 4)
    table = Table([], [], "CSV", [note] if note else [])
    try:
        for number, line in enumerate(reader, start=1):  # a record is a row (a cell may hold a line break)
            cells = [cell.strip() for cell in line]
            if not table.columns:
                if any(cells):  # blank lines above the header
                    table.columns, table.header_number = _header(cells, number), number
                continue
            _append(table, cells, number)
    except csv.Error as error:
        raise TableError(
            Message(
                gettext_noop("Line %(line)s of the file cannot be read as CSV (%(error)s): check its quotes."),
                {"line": reader.line_num, "error": str(error)},
            )
        ) from None
    if not table.columns:
        raise TableError(Message(gettext_noop("The file is empty.")))
    return table


# -- XLSX ------------------------------------------------------------------------------------------


def _read_xlsx(path: Path) -> Table:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise TableError(
            Message(gettext_noop("The file looks like an XLSX workbook but is damaged: save it again and upload that."))
        ) from None
    if "xl/workbook.xml" not in names:
        if "content.xml" in names and "mimetype" in names:
            raise TableError(
                Message(
                    gettext_noop(
                        "This is an OpenDocument spreadsheet (.ods), which the import does not read: save it as an "
                        "Excel workbook (.xlsx) or as CSV and upload that."
                    )
                )
            )
        raise TableError(
            Message(gettext_noop("This is a ZIP archive, not an XLSX workbook: upload the CSV or XLSX file itself."))
        )
    if unpacked > MAX_UNPACKED_BYTES:
        raise TableError(Message(gettext_noop("The workbook unpacks to more than 600 MB: it is not a cohort table.")))
    from openpyxl import load_workbook

    table = Table([], [], "XLSX")
    # Opened as a file, not by its name: openpyxl refuses a name that does not end in .xlsx, and
    # an upload is kept under its import's id (var/imports/<uuid>).
    with open(path, "rb") as handle:
        try:
            workbook = load_workbook(handle, read_only=True, data_only=False)
        except Exception as error:  # openpyxl raises many kinds on a broken workbook
            raise TableError(
                Message(
                    gettext_noop("The workbook cannot be read (%(error)s): save it again and upload that."),
                    {"error": type(error).__name__},
                )
            ) from None
        try:
            _read_sheet(workbook, table)
        except TableError:
            raise
        except Exception as error:  # a damaged sheet: XML, ZIP or zlib errors, as openpyxl meets them
            raise TableError(
                Message(
                    gettext_noop("The workbook cannot be read (%(error)s): save it again and upload that."),
                    {"error": type(error).__name__},
                )
            ) from None
        finally:
            workbook.close()
    if not table.columns:
        raise TableError(Message(gettext_noop("The workbook's first sheet is empty.")))
    return table


def _read_sheet(workbook, table: Table) -> None:
    """The "fractures" sheet (the exports' and the template's), else the first, into `table`. The
    sheet is read as it is iterated (read-only mode): a damaged one fails here, not when opened."""
    sheet = workbook["fractures"] if "fractures" in workbook.sheetnames else workbook.worksheets[0]
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell_text(value) for value in values]
        if not table.columns:
            if any(cells):  # blank rows above the header
                table.columns, table.header_number = _header(cells, number), number
            continue
        _append(table, cells, number)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value))
    return str(value).strip()


# -- both ------------------------------------------------------------------------------------------


def _header(cells: list[str], number: int) -> list[str]:
    """The column names in row `number` (the first row that is not blank)."""
    names = [cell.strip().lstrip("\ufeff").lower() for cell in cells]
    while names and not names[-1]:
        names.pop()  # empty columns at the right
    if len(names) > MAX_COLUMNS:
        raise TableError(
            Message(
                gettext_noop(
                    "The header (row %(row)s) has %(columns)s columns; a cohort table has far fewer: is it the header?"
                ),
                {"row": number, "columns": len(names)},
            )
        )
    seen: set[str] = set()
    for at, name in enumerate(names, start=1):
        if not name:
            raise TableError(
                Message(
                    gettext_noop("Column %(column)s of the header (row %(row)s) has no name."),
                    {"column": at, "row": number},
                )
            )
        if name in seen:
            raise TableError(
                Message(
                    gettext_noop("The header (row %(row)s) names the column “%(name)s” twice."),
                    {"row": number, "name": name},
                )
            )
        seen.add(name)
    return names


def _append(table: Table, cells: list[str], number: int) -> None:
    """Add row `number` (blank rows skipped), its cells interned: a cohort repeats its values
    (levels, dates, choices) thousands of times, and one copy of each keeps a large table small."""
    if not any(cells):
        return
    rows, width = table.rows, len(table.columns)
    if len(rows) >= MAX_ROWS:
        raise TableError(
            Message(
                gettext_noop(
                    "The table has more than %(rows)s rows. Split it into several files and import them one "
                    "after the other (rows already imported are recognised and left as they are)."
                ),
                {"rows": f"{MAX_ROWS:,}"},
            )
        )
    for at, cell in enumerate(cells[width:], start=width + 1):
        if cell:
            raise TableError(
                Message(
                    gettext_noop(
                        "Row %(row)s has a value in column %(column)s, which has no name in the header (“%(value)s”): "
                        "name the column, or clear it."
                    ),
                    {"row": number, "column": at, "value": cell[:40]},
                )
            )
    if max(map(len, cells), default=0) > MAX_CELL_CHARACTERS:
        for column, cell in zip(table.columns, cells, strict=False):
            if len(cell) > MAX_CELL_CHARACTERS:
                raise TableError(
                    Message(
                        gettext_noop(
                            "Row %(row)s, %(column)s: the cell holds %(length)s characters; a cell takes at most %(limit)s."
                        ),
                        {
                            "row": number,
                            "column": column,
                            "length": f"{len(cell):,}",
                            "limit": f"{MAX_CELL_CHARACTERS:,}",
                        },
                    )
                )
    if table.numbers or number != len(rows) + 2:
        if not table.numbers:  # the first row whose number is not its place + 2: list them all from here
            table.numbers.extend(range(2, len(rows) + 2))
        table.numbers.append(number)
    cells = (cells + [""] * width)[:width]
    starts = "".join(cell[:1] for cell in cells)  # (a large table: one pass for the rare cases below)
    if FORMULA_START in starts:
        table.formulas.update((len(rows), at) for at, cell in enumerate(cells) if cell.startswith(FORMULA_START))
    if "'" in starts:
        cells = [_undefused(cell) for cell in cells]
    rows.append(tuple(map(sys.intern, cells)))


def _undefused(cell: str) -> str:
    """The text an export defused ('=…) back as it was recorded."""
    return cell[1:] if cell.startswith(DEFUSED_START) else cell
