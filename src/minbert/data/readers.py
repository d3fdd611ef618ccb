"""Readers for the delimited and JSON-lines text files that fine-tuning and prediction use.

The file suffix picks the layout:

- ``.csv``: delimited text with a header row. The delimiter is a tab when the header
  line contains one, else a comma, because the SST, CFIMDB and Quora files of the
  CS 224N minBERT project are tab-separated but named ``.csv``.
- ``.tsv``: tab-separated text with a header row.
- ``.jsonl`` or ``.json``: JSON lines, one object per line.

Delimited files go through :mod:`csv` (see :mod:`minbert.data.delimited`), so a quoted
field may contain the delimiter, doubled quotes and line breaks. Every row comes with the 1-based physical line where
its record starts (the header is line 1), and every :class:`~minbert.errors.DataError`
reads ``path:line: what is wrong (expected ...)``.

Limitations: files must be UTF-8 (a leading byte-order mark is dropped), and other
encodings are rejected rather than guessed. A ``.json`` file holding one JSON array
is rejected, because ``.json`` is read as JSON lines.
"""

import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from minbert.data.delimited import DelimitedRecords
from minbert.errors import ConfigError, DataError

DELIMITED_SUFFIXES = (".csv", ".tsv")
JSON_LINES_SUFFIXES = (".jsonl", ".json")

# A whole number, optionally written as a float with a zero fraction ("3", "3.0"),
# because the Quora file stores its 0/1 labels as "0.0" and "1.0".
_INTEGER_LABEL = re.compile(r"[+-]?[0-9]+(?:\.0*)?")

_JSON_TYPE_NAMES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


@dataclass(frozen=True)
class LabelledText:
    """One example: its text, its class index, and where it starts in the source file."""

    text: str
    label: int | None  # None when the file is read without a label column
    line: int  # 1-based physical line where the record starts (the header is line 1)


def read_table(path: str | Path, *, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line, row)`` for each record of a CSV, TSV or JSON-lines file.

    ``row`` maps each name in ``columns`` to its value as a string. Other columns are
    dropped, and blank lines are skipped. ``line`` is the 1-based physical line where
    the record starts.

    Raises DataError for a missing file, an unsupported suffix, a missing column, a
    column of ``columns`` that the header names more than once, a record with the
    wrong number of fields, a quoted field without its closing quote, a line that is
    not a JSON object, and bytes that are not UTF-8. The missing-file and suffix
    checks run at the call, the others as the rows are read.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder (expected a data file)")
    suffix = path.suffix.lower()
    if suffix not in DELIMITED_SUFFIXES + JSON_LINES_SUFFIXES:
        expected = ", ".join(DELIMITED_SUFFIXES + JSON_LINES_SUFFIXES)
        raise DataError(f"{path}: unsupported file suffix {suffix!r} (expected one of {expected})")
    if not path.is_file():
        raise DataError(f"{path}: file not found (expected an existing data file)")
    return _read_rows(path, suffix=suffix, columns=tuple(columns))


def read_labelled(
    path: str | Path,
    *,
    text_column: str = "sentence",
    label_column: str | None = "sentiment",
    num_labels: int | None = None,
) -> list[LabelledText]:
    """Read a file of texts with integer class labels, checking every row.

    With ``label_column=None`` the file needs no label column and every label is
    None (for prediction), and ``num_labels`` is not used. Otherwise each label must
    be a whole number ("3" or "3.0") in ``0 .. num_labels - 1``, or at least 0 when
    ``num_labels`` is None.

    Raises DataError on the first empty text, invalid label or out-of-range label,
    and on a file without rows. Raises ConfigError when ``num_labels`` is below 1.
    """
    if num_labels is not None and num_labels < 1:
        raise ConfigError(f"num_labels={num_labels} is invalid (expected 1 or more)")
    columns = [text_column] if label_column is None else [text_column, label_column]

    examples = []
    for line, row in read_table(path, columns=columns):
        text = row[text_column]
        if not text.strip():
            raise DataError(f"{path}:{line}: empty text in column {text_column!r} (expected a non-empty string)")

        label = None
        if label_column is not None:
            label = _parse_label(
                row[label_column], location=f"{path}:{line}", column=label_column, num_labels=num_labels
            )
        examples.append(LabelledText(text=text, label=label, line=line))

    if not examples:
        raise DataError(f"{path}: no rows (expected at least one record)")
    return examples


def _read_rows(path: Path, *, suffix: str, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        data_file = path.open("rb")
    except OSError as error:
        raise DataError(f"{path}: failed to open: {error.strerror} (expected a readable data file)") from None

    with data_file:
        lines = _decode_lines(path, data_file)
        if suffix in JSON_LINES_SUFFIXES:
            yield from _read_json_lines(path, lines, columns=columns)
        else:
            yield from _read_delimited(path, lines, columns=columns, tab_only=suffix == ".tsv")


def _decode_lines(path: Path, data_file: BinaryIO) -> Iterator[str]:
    # Splitting the bytes at b"\n" before decoding is safe in UTF-8, where that byte
    # never occurs inside a multi-byte character, and it lets the error name the line.
    for number, raw_line in enumerate(data_file, start=1):
        try:
            yield raw_line.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as error:
            bad_bytes = raw_line[error.start : error.end]
            raise DataError(
                f"{path}:{number}: invalid UTF-8 bytes {bad_bytes!r} at byte offset {error.start} of the line "
                "(expected UTF-8 text)"
            ) from None


def _read_delimited(
    path: Path, lines: Iterator[str], *, columns: tuple[str, ...], tab_only: bool
) -> Iterator[tuple[int, dict[str, str]]]:
    header_line = next(lines, None)
    if header_line is None:
        raise DataError(f"{path}: empty file (expected a header row naming the columns)")
    delimiter = "\t" if tab_only or "\t" in header_line else ","
    records = DelimitedRecords(path, itertools.chain([header_line], lines), delimiter=delimiter)

    # Map each requested column to its position, naming every missing one at once.
    _, header = records.next_record()
    header = header or []
    missing = [name for name in columns if name not in header]
    if missing:
        raise DataError(f"{path}:1: missing column {_quoted(missing)} (the header has columns {_quoted(header)})")
    for name in columns:
        count = header.count(name)
        if count > 1:
            raise DataError(f"{path}:1: column {name!r} appears {count} times in the header "
                            "(expected unique column names)")
    positions = {name: header.index(name) for name in columns}

    while True:
        start_line, fields = records.next_record()
        if fields is None:
            return
        if not fields:
            continue
        if len(fields) != len(header):
            raise DataError(
                f"{path}:{start_line}: {len(fields)} fields (expected {len(header)}, one per header column, "
                "so quote any field that contains the delimiter)"
            )
        yield start_line, {name: fields[position] for name, position in positions.items()}


def _read_json_lines(
    path: Path, lines: Iterable[str], *, columns: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, str]]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(
                f"{path}:{number}: invalid JSON: {error.msg} at column {error.colno} "
                "(expected one JSON object per line)"
            ) from None
        if not isinstance(record, dict):
            raise DataError(f"{path}:{number}: a JSON {_json_type_name(record)} (expected one JSON object per line)")

        missing = [name for name in columns if name not in record]
        if missing:
            raise DataError(
                f"{path}:{number}: missing column {_quoted(missing)} (the object has keys {_quoted(list(record))})"
            )
        location = f"{path}:{number}"
        yield number, {name: _json_value_text(record[name], location=location, column=name) for name in columns}


def _json_value_text(value: object, *, location: str, column: str) -> str:
    """Return a JSON string or number as text, the way it would appear in a CSV field."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise DataError(f"{location}: column {column!r} is a JSON {_json_type_name(value)} (expected a string or number)")


def _json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES[type(value)]


def _parse_label(value: str, *, location: str, column: str, num_labels: int | None) -> int:
    """Parse a class index written as "3" or "3.0", checking it against ``num_labels``."""
    text = value.strip()
    if not _INTEGER_LABEL.fullmatch(text):
        raise DataError(f"{location}: label {value!r} in column {column!r} is not an integer (expected e.g. 3 or 3.0)")
    label = int(text.split(".")[0])

    if num_labels is None and label < 0:
        raise DataError(f"{location}: label {value!r} in column {column!r} is negative (expected 0 or more)")
    if num_labels is not None and not 0 <= label < num_labels:
        raise DataError(
            f"{location}: label {value!r} in column {column!r} is out of range (expected 0 to {num_labels - 1})"
        )
    return label


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names)
