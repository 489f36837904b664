"""The one CSV reader every importer uses (advocates, CRM opportunities, and later ones), and the
one writer every export uses (`csv_safe`, `csv_download`: streamed, spreadsheet formulas
neutralised; reliability.md 44).

    table = read_csv(raw_bytes, required=("email", "name"), known=IMPORT_COLUMNS)
    for row in table.rows:          # non-blank records, in file order
        if row.problem:             # the reader's own finding for this record
            report(row.line, row.problem); continue
        model = read_row(Model, row.cells)   # cells → hub.fields types, as every importer does

What it guarantees (issue 12 item 4, issue 13 item 2):
- Encoding: UTF-8 with or without a byte-order mark. Anything else — Excel's "CSV (comma
  delimited)" (Windows-1252 or another code page), UTF-16 "Unicode text" — is refused with a
  message that says to save as "CSV UTF-8", naming the first line that is not UTF-8. Guessing a
  code page cannot be done reliably (Windows-1250 and -1252 share every byte), and a wrong guess
  stores wrong names, so Vouch never guesses and never stores U+FFFD replacement characters: a
  record that already contains one is reported as a row problem.
- Line numbers are physical lines of the file: the header is line 1, a blank line counts, a
  quoted cell spanning lines counts each of its lines, and a record is numbered by the line it
  starts on.
- The header: lower-cased and trimmed; a missing required column, a column named twice, or a
  file separated by semicolons or tabs that does not name the columns is refused up front.
  Semicolon- and tab-separated files whose header names every required column are read as such
  (European Excel saves CSV with semicolons).
- Limits: the file's size (`max_bytes`; importers pass `upload_bytes()`, the request limit the
  pages state — 2 MB by default), the number of records (`max_rows`),
  NUL bytes (refused: PostgreSQL cannot store them and a CSV text file never has them), a cell
  longer than `MAX_CELL_CHARS` (a row problem, the other rows read on), more cells than the
  header names (a row problem: usually an unquoted comma).

Refusals of the whole file raise `hub.errors.ValidationFailed({"file": message})`, which forms
show on the file field and the API answers as 422 `invalid`. Row problems are `(line, reason)`
pairs; `problems_json` gives the API shape `[{"line", "reason"}]` and the template
`_import_problems.html` the HTML table, the same for every importer.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from flask import Response, current_app, has_app_context, stream_with_context

from hub.errors import ValidationFailed

MAX_CSV_BYTES = 5 * 1024 * 1024
MAX_CSV_ROWS = 50_000
# Python's csv module refuses longer cells outright (its default field_size_limit); Vouch
# reports such a cell as a problem of its row instead, so the parser itself must accept it.
MAX_CELL_CHARS = 131_072
SAVE_AS_UTF8 = 'In Excel choose File › Save As › "CSV UTF-8 (Comma delimited) (*.csv)", then upload that file.'
REPLACEMENT_CHARACTER = "\ufffd"
_DELIMITERS = {",": "commas", ";": "semicolons", "\t": "tabs"}

# A cell starting with one of these is a formula to a spreadsheet (`=HYPERLINK(…)`, `+cmd`,
# `@SUM(…)`, `-2+3`); tab and carriage return let one hide behind leading whitespace.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

if csv.field_size_limit() < MAX_CSV_BYTES + 1:
    # Process-wide setting of the csv module; only raising it, so no other reader loses anything.
    csv.field_size_limit(MAX_CSV_BYTES + 1)


@dataclass(frozen=True)
class CsvRow:
    """One non-blank record: `line` is the physical line it starts on (header = 1); `cells` maps
    each header name the importer knows to its cell (a missing trailing cell is absent);
    `problem` is set when the reader found the record unusable (then skip it and report it)."""

    line: int
    cells: dict[str, str]
    problem: str | None = None


@dataclass
class CsvTable:
    """A read file: its header (lower-cased names), its non-blank records, the delimiter used and
    the decoded text (what an import job stores and reads again)."""

    header: list[str]
    rows: list[CsvRow] = field(default_factory=list)
    delimiter: str = ","
    text: str = ""


def upload_bytes() -> int:
    """The largest file an importer takes: `MAX_CSV_BYTES`, never more than the request limit
    (MAX_CONTENT_LENGTH) that the pages state, so the stated limit is the real one."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") if has_app_context() else None
    return min(MAX_CSV_BYTES, int(limit)) if limit else MAX_CSV_BYTES


def refuse(message: str) -> ValidationFailed:
    """The refusal of a whole file, on the form's and the API's `file` field."""
    return ValidationFailed({"file": message}, message)


def decode_csv(raw: bytes, *, max_bytes: int = MAX_CSV_BYTES) -> str:
    """The text of an uploaded CSV: UTF-8 (a leading byte-order mark dropped). Raises
    ValidationFailed (field `file`) for a file larger than `max_bytes`, one with NUL bytes, or one
    that is not UTF-8 — with the line and what to do."""
    if len(raw) > max_bytes:
        raise refuse(f"The file is larger than {_size(max_bytes)}.")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise refuse(f'The file is saved as UTF-16 ("Unicode text"), not as CSV UTF-8. {SAVE_AS_UTF8}')
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise refuse(f"Line {_line_of(raw, nul)} contains a NUL byte: this is not a CSV text file. {SAVE_AS_UTF8}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _line_of(raw, exc.start)
        raise refuse(
            f"Line {line} is not UTF-8 text (byte 0x{raw[exc.start]:02X}): the file was probably saved as "
            f'"CSV (Comma delimited)" in a Windows code page. {SAVE_AS_UTF8}'
        ) from None


def read_csv(
    source: bytes | str,
    *,
    required: Iterable[str],
    known: Iterable[str] | None = None,
    max_bytes: int = MAX_CSV_BYTES,
    max_rows: int = MAX_CSV_ROWS,
) -> CsvTable:
    """Read a CSV upload (bytes, decoded by `decode_csv`, or text already decoded by it).

    `required`: header names that must be present; `known`: the names the importer reads (all
    columns when None) — other columns are ignored. Raises ValidationFailed (field `file`) for a
    file-level problem: size, encoding, NUL byte, an empty file, a header missing a required
    column or naming one twice, more than `max_rows` records, or a malformed file the csv parser
    gives up on."""
    text = decode_csv(source, max_bytes=max_bytes) if isinstance(source, bytes) else source.removeprefix("\ufeff")
    if "\x00" in text:
        raise refuse(f"The file contains a NUL byte: this is not a CSV text file. {SAVE_AS_UTF8}")
    required = [name.lower() for name in required]
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line, required)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [cell.strip().lower() for cell in next(reader, [])]
    except csv.Error as exc:
        raise refuse(f"Line 1 (the header) cannot be read: {exc}.") from None
    if not any(header):
        raise refuse("The file is empty: the first line must be the header.")
    _check_header(header, required, delimiter, first_line)
    wanted = set(header) if known is None else {name.lower() for name in known}
    table = CsvTable(header=header, delimiter=delimiter, text=text)
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise refuse(f"Line {line} cannot be read as CSV: {exc}.") from None
        if not any(cell.strip() for cell in record):
            continue
        if len(table.rows) >= max_rows:
            raise refuse(f"The file has more than {max_rows:,} records. Split it into smaller files.")
        table.rows.append(_row(line, header, record, wanted))
    return table


def problems_json(problems: Sequence[Sequence[object]]) -> list[dict[str, object]]:
    """Row problems `(line, reason)` in the API's shape: `[{"line": int, "reason": str}]`."""
    return [{"line": int(line), "reason": str(reason)} for line, reason in problems]  # type: ignore[call-overload]


def problem_text(exc: ValidationFailed, limit: int = 500) -> str:
    """A row's field errors as one line: `"email: Enter a valid email.; name: …"` (≤ `limit` chars)."""
    return "; ".join(f"{name}: {messages[0]}" for name, messages in exc.fields.items())[:limit]


def _row(line: int, header: list[str], record: list[str], wanted: set[str]) -> CsvRow:
    cells = {name: cell for name, cell in zip(header, record, strict=False) if name in wanted}
    if len(record) > len(header) and any(cell.strip() for cell in record[len(header) :]):
        problem = (
            f"{len(record)} cells where the header names {len(header)} columns "
            "(a cell with a comma in it needs double quotes around it)."
        )
        return CsvRow(line, cells, problem)
    longest = max((len(cell) for cell in record), default=0)
    if longest > MAX_CELL_CHARS:
        column = header[max(range(len(record)), key=lambda i: len(record[i]))] if record else ""
        return CsvRow(line, cells, f"{column}: a cell longer than {MAX_CELL_CHARS:,} characters.")
    if any(REPLACEMENT_CHARACTER in cell for cell in record):
        return CsvRow(
            line,
            cells,
            "contains the replacement character � (text damaged by an earlier conversion); correct it.",
        )
    return CsvRow(line, cells)


def _delimiter(first_line: str, required: list[str]) -> str:
    """Commas, unless the header names every required column only when split by `;` or a tab."""

    def names(delimiter: str) -> set[str]:
        return {cell.strip().strip('"').lower() for cell in first_line.rstrip("\r").split(delimiter)}

    if set(required) <= names(","):
        return ","
    for delimiter in (";", "\t"):
        if set(required) <= names(delimiter):
            return delimiter
    return ","


def _check_header(header: list[str], required: list[str], delimiter: str, first_line: str) -> None:
    seen: set[str] = set()
    for name in header:
        if name and name in seen:
            raise refuse(f'Line 1 (the header) names the column "{name}" twice.')
        seen.add(name)
    missing = [name for name in required if name not in seen]
    if not missing:
        return
    other = next((d for d in (";", "\t") if d != delimiter and d in first_line and "," not in first_line), None)
    hint = f" The file seems separated by {_DELIMITERS[other]}, not commas." if other else ""
    raise refuse(
        f"Missing columns: {', '.join(missing)}. Line 1 must be the header naming at least: "
        f"{', '.join(required)}.{hint}"
    )


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n % (1024 * 1024) == 0 else f"{n:,} bytes"


# A plain decimal number written as text ("-5", "+12.50"): a spreadsheet reads it as that
# number, never as a formula, so it keeps its sign and stays summable.
_PLAIN_NUMBER = re.compile(r"[-+]?[0-9]+(?:\.[0-9]+)?")


def csv_safe(value: object) -> object:
    """Neutralize spreadsheet formulas in exported text: a text cell starting with a formula
    character gets a leading apostrophe, so a spreadsheet shows it as text and never runs it
    (OWASP "CSV Injection"). Numbers — and text that is only a plain decimal number, such as an
    audit entry's "-5" — are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A CSV document (header, then rows) with every cell through csv_safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_safe(v) for v in row])
    return out.getvalue()


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The CSV text of `header` and `rows`, one record at a time, every cell through `csv_safe`
    (None written as an empty cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(cells: Sequence[object]) -> str:
        writer.writerow(["" if cell is None else csv_safe(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(header)
    for row in rows:
        yield line(row)


def csv_download(filename: str, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Response:
    """A streamed `text/csv` attachment named `filename`: rows are read (a generator may query
    the database in batches) and written while the response is sent, so an export of 100,000
    rows never sits whole in memory. The request context stays open while it streams."""
    return Response(
        stream_with_context(csv_lines(header, rows)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
