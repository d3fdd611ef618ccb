"""Texts to embed or search: one per line of a plain file, or one column of a table.

A file with a table suffix (.csv, .tsv, .jsonl, .json) is read by
``read_table`` and needs a column name. Any other file is UTF-8 text with one
text per line. Blank lines and blank cells are skipped, and every text keeps
the 1-based line where it starts, so results can point back into the file.
"""

from dataclasses import dataclass
from pathlib import Path

from minbert.data.readers import DELIMITED_SUFFIXES, JSON_LINES_SUFFIXES, _decode_lines, read_table
from minbert.errors import DataError


@dataclass(frozen=True)
class TextLine:
    """One text and the 1-based line of the file where it starts."""

    text: str
    line: int


def is_table(path: str | Path) -> bool:
    return Path(path).suffix.lower() in DELIMITED_SUFFIXES + JSON_LINES_SUFFIXES


def read_texts(path: str | Path, *, column: str | None = None, skip_blank_cells: bool = True) -> list[TextLine]:
    """Read the non-blank texts of ``path``; ``column`` names the table column for table files.

    Raises DataError for a missing file, a table without ``column``, bytes
    that are not UTF-8, and a file with no text at all. With
    ``skip_blank_cells=False`` a blank cell of a table is an error, so that
    the texts stay one per table row.
    """
    path = Path(path)
    if is_table(path):
        if not path.exists():
            raise DataError(f"{path}: file not found (expected a CSV, TSV or JSONL table)")
        if column is None:
            raise DataError(f"{path}: a table file needs --column NAME (the column holding the texts)")
        texts = []
        for line, row in read_table(path, columns=[column]):
            if row[column].strip():
                texts.append(TextLine(text=row[column], line=line))
            elif not skip_blank_cells:
                raise DataError(f"{path} line {line}: column {column!r} is blank (expected a text in every row)")
    else:
        if column is not None:
            raise DataError(f"{path}: --column {column} applies to .csv, .tsv, .jsonl and .json files only "
                            "(a file of another kind is read as one text per line)")
        if path.is_dir():
            raise DataError(f"{path}: is a folder (expected a text file with one text per line)")
        try:
            text_file = path.open("rb")
        except FileNotFoundError:
            raise DataError(f"{path}: file not found (expected a text file with one text per line)") from None
        except OSError as error:
            raise DataError(f"{path}: failed to open: {error.strerror}") from None
        with text_file:
            texts = [TextLine(text=line.rstrip("\r\n"), line=number)
                     for number, line in enumerate(_decode_lines(path, text_file), start=1) if line.strip()]
    if not texts:
        raise DataError(f"{path}: no text (expected at least one non-blank line)")
    return texts
