"""Records of a delimited file, each with the physical line where it starts.

:class:`DelimitedRecords` wraps :func:`csv.reader` with its default dialect, whose
``strict=False`` reads a quoted field that never closes to the end of the file and
returns it without an error. The rows after it then vanish into that field, so the
record shows up as a wrong field count, or, in the last column, as a plausible value.
:func:`find_unclosed_quote` replays csv's quoting rules over the lines of the last
record to find such a field, and the reader reports the line where it opens.

Every :class:`~minbert.errors.DataError` reads ``path:line: what is wrong (expected ...)``.
"""

import csv
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from minbert.errors import DataError


class DelimitedRecords:
    """A csv reader over decoded lines that returns each record with its first line.

    It keeps the lines of the record being read, so that an error can name the line
    where an unclosed quoted field starts.
    """

    def __init__(self, path: Path, lines: Iterable[str], *, delimiter: str) -> None:
        self._path = path
        self._delimiter = delimiter
        self._record_lines: list[str] = []
        self._at_end = False
        self._reader = csv.reader(self._keep_record_lines(lines), delimiter=delimiter)

    def _keep_record_lines(self, lines: Iterable[str]) -> Iterator[str]:
        for line in lines:
            self._record_lines.append(line)
            yield line
        self._at_end = True

    def next_record(self) -> tuple[int, list[str] | None]:
        """Return the start line and fields of the next record, with fields None at the end of the file."""
        start_line = self._reader.line_num + 1
        self._record_lines.clear()
        try:
            fields = next(self._reader, None)
        except csv.Error as error:
            # A quote that never closes makes its field grow until it passes csv.field_size_limit().
            open_line = self._unclosed_quote_line(start_line)
            if open_line is not None:
                raise DataError(
                    f"{self._path}:{open_line}: the quoted field that starts on this line has no closing quote "
                    f'within {csv.field_size_limit()} characters (expected a closing ")'
                ) from None
            raise DataError(
                f"{self._path}:{start_line}: malformed record: {error} (expected valid CSV quoting)"
            ) from None

        # A record can only end inside a quoted field when the file ended first.
        if fields is not None and self._at_end:
            open_line = self._unclosed_quote_line(start_line)
            if open_line is not None:
                raise DataError(
                    f"{self._path}:{open_line}: the quoted field that starts on this line has no closing quote "
                    '(expected a closing " before the end of the file)'
                )
        return start_line, fields

    def _unclosed_quote_line(self, start_line: int) -> int | None:
        """Return the line where the current record's last quoted field opens if it is still open, else None."""
        if not any('"' in line for line in self._record_lines):
            return None
        open_offset = find_unclosed_quote(self._record_lines, delimiter=self._delimiter)
        return None if open_offset is None else start_line + open_offset


def find_unclosed_quote(lines: Sequence[str], *, delimiter: str) -> int | None:
    """Return the index in ``lines`` where a quoted field opens without closing, or None if every one closes.

    ``lines`` are the lines of one record. This follows csv.reader's default dialect with
    ``strict=False``: a quote opens a quoted field only as a field's first character, two
    quotes inside it stand for one, and a single quote closes it. Text after the closing
    quote joins the field, and quotes in an unquoted field are plain characters.
    """
    in_quotes = after_quote = False
    at_field_start = True
    open_index = None
    for index, line in enumerate(lines):
        for char in line:
            if in_quotes:
                if char == '"':
                    in_quotes, after_quote = False, True
                continue
            if after_quote and char == '"':
                # A doubled quote stands for one quote, and the field goes on.
                in_quotes, after_quote = True, False
                continue
            after_quote = False
            if at_field_start and char == '"':
                in_quotes, open_index = True, index
            at_field_start = char in (delimiter, "\r", "\n")
    return open_index if in_quotes else None
