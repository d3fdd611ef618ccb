"""Tests for minbert.data: file readers, task files and length-bucketed batching."""

import csv
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.data import (
    TASKS,
    LabelledText,
    bucket_batches,
    read_labelled,
    read_table,
    resolve_data_dir,
    task_files,
)
from minbert.data.delimited import find_unclosed_quote
from minbert.data.pairs import read_scored_pairs
from minbert.data.texts import read_texts
from minbert.errors import ConfigError, DataError

SST_HEADER = "\tid\tsentence\tsentiment\n"


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sst_file(tmp_path: Path, *rows: str, name: str = "data.csv") -> Path:
    """Write a tab-separated file in the shared SST layout with the given data rows."""
    return write_text(tmp_path / name, SST_HEADER + "".join(row + "\n" for row in rows))


# Shared data files


@pytest.mark.data
@pytest.mark.parametrize(
    ("file_name", "num_labels", "row_count"),
    [
        ("ids-sst-train.csv", 5, 8544),
        ("ids-sst-dev.csv", 5, 1101),
        ("ids-cfimdb-train.csv", 2, 1707),
        ("ids-cfimdb-dev.csv", 2, 245),
    ],
)
def test_shared_file_rows_and_labels(data_dir, file_name, num_labels, row_count):
    examples = read_labelled(data_dir / file_name, num_labels=num_labels)

    assert len(examples) == row_count
    assert {example.label for example in examples} == set(range(num_labels))
    assert examples[0].line == 2
    assert examples[-1].line == row_count + 1


@pytest.mark.data
def test_shared_sst_dev_first_example(data_dir):
    first = read_labelled(data_dir / "ids-sst-dev.csv", num_labels=5)[0]

    assert first == LabelledText(
        text=" It 's a lovely film with lovely performances by Buy and Accorsi .", label=3, line=2
    )


@pytest.mark.data
def test_shared_quora_quoted_fields(data_dir):
    rows = list(read_table(data_dir / "quora-dev.csv", columns=["sentence1", "sentence2", "is_duplicate"]))

    assert len(rows) == 20214
    line, row = rows[1]
    assert line == 3
    # The field is written """Which ... """"the"""" here?""", so one level of doubled quotes remains.
    assert row["sentence1"].startswith('"Which is correct grammar: I graduated from University of XXXX')
    assert row["sentence1"].endswith('Do I need ""the"" here?"')
    assert row["sentence2"].startswith("Grammar: What are the most common English language")
    assert row["is_duplicate"] == "0.0"
    # Two records have an empty is_duplicate field in the source data.
    assert [line for line, row in rows if row["is_duplicate"] == ""] == [2577, 14222]


@pytest.mark.data
def test_shared_quora_empty_label_rejected(data_dir):
    path = data_dir / "quora-dev.csv"

    with pytest.raises(DataError) as caught:
        read_labelled(path, text_column="sentence1", label_column="is_duplicate", num_labels=2)
    assert str(caught.value).startswith(f"{path}:2577: label '' in column 'is_duplicate' is not an integer")


def test_read_labelled_float_labels(tmp_path):
    path = write_text(
        tmp_path / "pairs.csv",
        "\tid\tsentence1\tsentence2\tis_duplicate\n0\ta\tone\ttwo\t1.0\n1\tb\tthree\tfour\t0.0\n",
    )

    examples = read_labelled(path, text_column="sentence1", label_column="is_duplicate", num_labels=2)

    assert [example.label for example in examples] == [1, 0]
    assert [example.text for example in examples] == ["one", "three"]


@pytest.mark.data
def test_task_files_in_shared_data(data_dir):
    for name, spec in TASKS.items():
        train_path, dev_path = task_files(name, data_dir)
        assert train_path == data_dir / spec.train_file
        assert dev_path == data_dir / spec.dev_file


# Good files of each layout


def test_read_table_comma_csv(tmp_path):
    path = write_text(tmp_path / "comma.csv", 'id,sentence,sentiment\na,"good, really",1\nb,bad,0\n')

    rows = list(read_table(path, columns=["sentence", "sentiment"]))

    assert rows == [(2, {"sentence": "good, really", "sentiment": "1"}), (3, {"sentence": "bad", "sentiment": "0"})]


def test_read_table_tab_csv_quoted_tab(tmp_path):
    path = sst_file(tmp_path, '0\ta\t"left\tright ""quoted"""\t4', "1\tb\tplain, with comma\t0")

    rows = list(read_table(path, columns=["sentence", "sentiment"]))

    assert rows[0] == (2, {"sentence": 'left\tright "quoted"', "sentiment": "4"})
    assert rows[1] == (3, {"sentence": "plain, with comma", "sentiment": "0"})


def test_read_table_tsv(tmp_path):
    path = write_text(tmp_path / "data.tsv", "sentence\tsentiment\nhello, world\t2\n")

    assert list(read_table(path, columns=["sentence"])) == [(2, {"sentence": "hello, world"})]


def test_read_table_multiline_record(tmp_path):
    path = sst_file(tmp_path, '0\ta\t"first line\nsecond line"\t1', "1\tb\tnext\t2")

    rows = list(read_table(path, columns=["sentence"]))

    assert rows == [(2, {"sentence": "first line\nsecond line"}), (4, {"sentence": "next"})]


def test_read_table_skips_blank_lines(tmp_path):
    path = sst_file(tmp_path, "0\ta\tone\t1", "", "1\tb\ttwo\t2")

    lines = [line for line, _ in read_table(path, columns=["sentence"])]

    assert lines == [2, 4]


def test_read_table_crlf_and_bom(tmp_path):
    path = tmp_path / "windows.csv"
    path.write_bytes("\ufeffsentence,sentiment\r\nsalut,1\r\n".encode("utf-8"))

    assert list(read_table(path, columns=["sentence", "sentiment"])) == [(2, {"sentence": "salut", "sentiment": "1"})]


def test_read_table_jsonl(tmp_path):
    path = write_text(
        tmp_path / "data.jsonl",
        '{"sentence": "fine", "sentiment": 3, "extra": null}\n\n{"sentence": "déjà vu", "sentiment": 1.0}\n',
    )

    rows = list(read_table(path, columns=["sentence", "sentiment"]))

    assert rows == [(1, {"sentence": "fine", "sentiment": "3"}), (3, {"sentence": "déjà vu", "sentiment": "1.0"})]


def test_read_labelled_jsonl_labels(tmp_path):
    path = write_text(
        tmp_path / "data.json", '{"sentence": "a", "sentiment": 1.0}\n{"sentence": "b", "sentiment": "0"}\n'
    )

    examples = read_labelled(path, num_labels=2)

    assert [example.label for example in examples] == [1, 0]


def test_read_labelled_float_and_spaced_labels(tmp_path):
    path = sst_file(tmp_path, "0\ta\tone\t3.0", "1\tb\ttwo\t 2 ", "2\tc\tthree\t+1")

    assert [example.label for example in read_labelled(path, num_labels=5)] == [3, 2, 1]


def test_read_labelled_without_labels(tmp_path):
    path = write_text(tmp_path / "predict.csv", "\tid\tsentence\n0\ta\tno label here\n")

    examples = read_labelled(path, label_column=None)

    assert examples == [LabelledText(text="no label here", label=None, line=2)]


# Bad paths and files


def test_read_table_missing_file(tmp_path):
    path = tmp_path / "absent.csv"

    with pytest.raises(DataError, match="file not found") as caught:
        read_table(path, columns=["sentence"])
    assert str(path) in str(caught.value)


def test_read_table_unsupported_suffix(tmp_path):
    path = write_text(tmp_path / "data.txt", "sentence\nx\n")

    with pytest.raises(DataError, match=r"unsupported file suffix '\.txt'"):
        read_table(path, columns=["sentence"])


def test_read_table_missing_column(tmp_path):
    path = sst_file(tmp_path, "0\ta\ttext\t1")

    with pytest.raises(DataError) as caught:
        list(read_table(path, columns=["sentence", "label"]))
    message = str(caught.value)
    assert message.startswith(f"{path}:1: missing column 'label'")
    assert "'id', 'sentence', 'sentiment'" in message


def test_read_table_empty_file(tmp_path):
    path = write_text(tmp_path / "empty.csv", "")

    with pytest.raises(DataError, match="empty file"):
        list(read_table(path, columns=["sentence"]))


def test_read_table_wrong_field_count(tmp_path):
    path = sst_file(tmp_path, "0\ta\tgood\t1", "1\tb\tunquoted\ttab\t2")

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:3: 5 fields \(expected 4"):
        list(read_table(path, columns=["sentence"]))


@pytest.mark.parametrize(
    ("rows", "open_line"),
    [
        # The unclosed field swallows the rows below it, so csv.reader returns too few fields.
        (['0\ta\t"good\t1', "1\tb\tbad\t0", "2\tc\tfine\t1"], 2),
        # In the last column the field count still matches, and the rest of the file becomes one label.
        (["0\ta\tgood\t1", '1\tb\tbad\t"0', "2\tc\tfine\t1"], 3),
        # A second quoted field of a multi-line record, opening on the record's second line.
        (['0\ta\t"first\nsecond"\t"1'], 3),
        # A doubled quote inside a quoted field is a literal quote, not the closing one.
        (['0\ta\t"says ""hi""\t1'], 2),
    ],
)
def test_read_table_unclosed_quote(tmp_path, rows, open_line):
    path = sst_file(tmp_path, *rows)

    with pytest.raises(DataError) as caught:
        list(read_table(path, columns=["sentence", "sentiment"]))
    message = str(caught.value)
    assert message.startswith(f"{path}:{open_line}: the quoted field that starts on this line has no closing quote")
    assert "before the end of the file" in message
    assert "fields" not in message


def test_read_table_unclosed_quote_in_header(tmp_path):
    path = write_text(tmp_path / "data.csv", 'sentence,"sentiment\ngood,1\n')

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:1: the quoted field .* no closing quote"):
        list(read_table(path, columns=["sentence"]))


def test_read_table_unclosed_quote_without_final_newline(tmp_path):
    path = write_text(tmp_path / "data.tsv", 'sentence\tsentiment\ngood\t1\n"bad\t0')

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:3: the quoted field .* no closing quote"):
        list(read_table(path, columns=["sentence"]))


def test_read_table_unclosed_quote_over_field_limit(tmp_path):
    limit = csv.field_size_limit()
    path = write_text(tmp_path / "data.csv", 'sentence,sentiment\ngood,1\n"' + "long text " * (limit // 10 + 1))

    with pytest.raises(DataError) as caught:
        list(read_table(path, columns=["sentence"]))
    message = str(caught.value)
    assert message.startswith(f"{path}:3: the quoted field that starts on this line has no closing quote")
    assert f"within {limit} characters" in message


def test_read_table_quotes_inside_fields_are_text(tmp_path):
    # csv.reader (strict=False) keeps a quote inside an unquoted field, and text after a closing quote.
    path = write_text(tmp_path / "data.csv", 'sentence,sentiment\nsay "hi,1\n"quoted" tail,0\n"last""",1')

    rows = list(read_table(path, columns=["sentence", "sentiment"]))

    assert rows == [
        (2, {"sentence": 'say "hi', "sentiment": "1"}),
        (3, {"sentence": "quoted tail", "sentiment": "0"}),
        (4, {"sentence": 'last"', "sentiment": "1"}),
    ]


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.text(alphabet='ab ,\t"\n', max_size=12), st.text(alphabet='ab ,\t"\n', max_size=12)),
        max_size=8,
    ),
    delimiter=st.sampled_from([",", "\t"]),
)
def test_read_table_round_trips_csv_writer(tmp_path_factory, rows, delimiter):
    path = tmp_path_factory.mktemp("round_trip") / ("data.tsv" if delimiter == "\t" else "data.csv")
    with path.open("w", encoding="utf-8", newline="") as data_file:
        writer = csv.writer(data_file, delimiter=delimiter, lineterminator="\n")
        writer.writerow(["first", "second"])
        writer.writerows(rows)

    read_rows = [(row["first"], row["second"]) for _, row in read_table(path, columns=["first", "second"])]

    assert read_rows == rows


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet='a ,\t"\n', max_size=16), delimiter=st.sampled_from([",", "\t"]))
def test_find_unclosed_quote_agrees_with_csv(text, delimiter):
    # csv.reader swallows a sentinel row into the last field exactly when that field's quote is still open.
    lines = text.splitlines(keepends=True)
    records = list(csv.reader([*lines, "\n", "sentinel\n"], delimiter=delimiter))
    csv_quote_open = records[-1] != ["sentinel"]

    assert (find_unclosed_quote(lines, delimiter=delimiter) is not None) == csv_quote_open


def test_read_table_requested_column_twice_in_header(tmp_path):
    path = write_text(tmp_path / "data.tsv", "sentence\tsentiment\tsentence\nfirst\t1\tsecond\n")

    with pytest.raises(DataError) as caught:
        list(read_table(path, columns=["sentence", "sentiment"]))
    assert str(caught.value) == (
        f"{path}:1: column 'sentence' appears 2 times in the header (expected unique column names)"
    )


def test_read_table_other_column_twice_in_header(tmp_path):
    path = write_text(tmp_path / "data.csv", "id,sentence,id,sentiment\n1,good,2,1\n")

    assert list(read_table(path, columns=["sentence"])) == [(2, {"sentence": "good"})]


def test_readers_reject_requested_column_twice(tmp_path):
    pairs = write_text(tmp_path / "pairs.csv", "sentence1,sentence2,similarity,similarity\na,b,1.0,2.0\n")
    texts = write_text(tmp_path / "texts.csv", "text,text\nfirst,second\n")
    labelled = write_text(tmp_path / "labelled.csv", "sentence,sentiment,sentiment\ngood,1,0\n")

    with pytest.raises(DataError, match="column 'similarity' appears 2 times in the header"):
        read_scored_pairs(pairs)
    with pytest.raises(DataError, match="column 'text' appears 2 times in the header"):
        read_texts(texts, column="text")
    with pytest.raises(DataError, match="column 'sentiment' appears 2 times in the header"):
        read_labelled(labelled, num_labels=2)


def test_read_table_invalid_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(SST_HEADER.encode() + b"0\ta\tfine\t1\n1\tb\tcaf\xe9\t2\n")

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:3: invalid UTF-8 bytes b'\\xe9'"):
        list(read_table(path, columns=["sentence"]))


def test_read_table_invalid_jsonl_line(tmp_path):
    path = write_text(tmp_path / "data.jsonl", '{"sentence": "ok"}\n{"sentence": "cut\n')

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: invalid JSON"):
        list(read_table(path, columns=["sentence"]))


def test_read_table_jsonl_not_object(tmp_path):
    path = write_text(tmp_path / "data.jsonl", '["sentence", "ok"]\n')

    expected = rf"^{re.escape(str(path))}:1: a JSON array \(expected one JSON object per line\)"
    with pytest.raises(DataError, match=expected):
        list(read_table(path, columns=["sentence"]))


def test_read_table_jsonl_missing_key(tmp_path):
    path = write_text(tmp_path / "data.jsonl", '{"sentence": "ok", "label": 1}\n')

    with pytest.raises(DataError) as caught:
        list(read_table(path, columns=["sentence", "sentiment"]))
    message = str(caught.value)
    assert message.startswith(f"{path}:1: missing column 'sentiment'")
    assert "'sentence', 'label'" in message


def test_read_table_jsonl_nested_value(tmp_path):
    path = write_text(tmp_path / "data.jsonl", '{"sentence": {"text": "ok"}}\n')

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:1: column 'sentence' is a JSON object"):
        list(read_table(path, columns=["sentence"]))


@pytest.mark.parametrize("text", ["", "   "])
def test_read_labelled_empty_text(tmp_path, text):
    path = sst_file(tmp_path, "0\ta\tfine\t1", f"1\tb\t{text}\t2")

    with pytest.raises(DataError) as caught:
        read_labelled(path, num_labels=5)
    assert str(caught.value).startswith(f"{path}:3: empty text in column 'sentence'")


@pytest.mark.parametrize("label", ["abc", "2.5", "", "1e0", "nan"])
def test_read_labelled_non_integer_label(tmp_path, label):
    path = sst_file(tmp_path, "0\ta\tfine\t1", f"1\tb\ttext\t{label}")

    with pytest.raises(DataError) as caught:
        read_labelled(path, num_labels=5)
    assert str(caught.value).startswith(f"{path}:3: label {label!r} in column 'sentiment' is not an integer")


@pytest.mark.parametrize("label", ["7", "5", "-1", "5.0"])
def test_read_labelled_label_out_of_range(tmp_path, label):
    path = sst_file(tmp_path, f"0\ta\ttext\t{label}")

    with pytest.raises(DataError) as caught:
        read_labelled(path, num_labels=5)
    message = str(caught.value)
    assert message.startswith(f"{path}:2: label {label!r}")
    assert "out of range (expected 0 to 4)" in message


def test_read_labelled_negative_label(tmp_path):
    path = sst_file(tmp_path, "0\ta\ttext\t-2")

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}:2: label '-2' in column 'sentiment' is negative"):
        read_labelled(path)


def test_read_labelled_header_only(tmp_path):
    path = sst_file(tmp_path)

    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: no rows"):
        read_labelled(path)


def test_read_labelled_invalid_num_labels(tmp_path):
    path = sst_file(tmp_path, "0\ta\ttext\t0")

    with pytest.raises(ConfigError, match="num_labels=0"):
        read_labelled(path, num_labels=0)


# Tasks and the data folder


def test_task_specs():
    assert TASKS["sst"].num_labels == 5
    assert TASKS["sst"].label_names[0] == "very negative"
    assert TASKS["sst"].label_names[4] == "very positive"
    assert TASKS["cfimdb"].label_names == ("negative", "positive")
    assert TASKS["cfimdb"].train_file == "ids-cfimdb-train.csv"


def test_resolve_data_dir_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("MINBERT_DATA", "/nonexistent/elsewhere")

    assert resolve_data_dir(tmp_path) == tmp_path
    assert resolve_data_dir(str(tmp_path)) == tmp_path


def test_resolve_data_dir_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MINBERT_DATA", str(tmp_path))

    assert resolve_data_dir(None) == tmp_path


def test_resolve_data_dir_unset(monkeypatch):
    monkeypatch.delenv("MINBERT_DATA", raising=False)

    with pytest.raises(DataError, match="^no data folder: pass --data-dir DIR or set MINBERT_DATA$"):
        resolve_data_dir(None)


def test_resolve_data_dir_missing_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MINBERT_DATA", raising=False)
    absent = tmp_path / "absent"

    with pytest.raises(DataError, match=rf"^{re.escape(str(absent))}: data folder not found \(set by --data-dir"):
        resolve_data_dir(absent)

    monkeypatch.setenv("MINBERT_DATA", str(absent))
    with pytest.raises(DataError, match=rf"^{re.escape(str(absent))}: data folder not found \(set by MINBERT_DATA"):
        resolve_data_dir(None)


def test_task_files_unknown_task(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown task 'imdb' \(expected one of: cfimdb, sst\)"):
        task_files("imdb", tmp_path)


def test_task_files_missing_file(tmp_path):
    write_text(tmp_path / "ids-sst-train.csv", SST_HEADER)

    with pytest.raises(DataError, match=rf"^{re.escape(str(tmp_path / 'ids-sst-dev.csv'))}: file not found"):
        task_files("sst", tmp_path)


# Batching


def within_batch_spread(batches: list[list[int]], lengths: list[int]) -> float:
    """Return the mean of max - min length over the batches."""
    spreads = [max(lengths[i] for i in batch) - min(lengths[i] for i in batch) for batch in batches]
    return sum(spreads) / len(spreads)


def test_bucket_batches_sorted_evaluation_order():
    batches = bucket_batches([5, 1, 3, 1, 4], batch_size=2, shuffle=False)

    assert batches == [[1, 3], [2, 4], [0]]


def test_bucket_batches_cover_every_index():
    lengths = [random.Random(0).randint(1, 100) for _ in range(1000)]

    batches = bucket_batches(lengths, batch_size=16, shuffle=True, seed=3)

    assert sorted(index for batch in batches for index in batch) == list(range(1000))
    assert sum(len(batch) < 16 for batch in batches) == 1


def test_bucket_batches_repeatable():
    lengths = list(range(500))

    first = bucket_batches(lengths, batch_size=8, shuffle=True, seed=7, epoch=2)
    second = bucket_batches(lengths, batch_size=8, shuffle=True, seed=7, epoch=2)

    assert first == second


def test_bucket_batches_vary_by_epoch():
    lengths = list(range(500))

    epoch_0 = bucket_batches(lengths, batch_size=8, shuffle=True, seed=7, epoch=0)
    epoch_1 = bucket_batches(lengths, batch_size=8, shuffle=True, seed=7, epoch=1)
    other_seed = bucket_batches(lengths, batch_size=8, shuffle=True, seed=8, epoch=0)

    assert epoch_0 != epoch_1
    assert epoch_0 != other_seed


def test_bucket_batches_near_uniform_lengths():
    rng = random.Random(1)
    lengths = [rng.randint(1, 200) for _ in range(5000)]
    shuffled = list(range(5000))
    rng.shuffle(shuffled)
    random_batches = [shuffled[start : start + 32] for start in range(0, 5000, 32)]

    bucketed = bucket_batches(lengths, batch_size=32, shuffle=True, seed=0)

    # Measured with these seeds: random batches of 32 have a mean spread of about 187,
    # and bucketed batches (sorted chunks of 1600) about 5.
    assert within_batch_spread(bucketed, lengths) < 0.1 * within_batch_spread(random_batches, lengths)


def test_bucket_batches_empty():
    assert bucket_batches([], batch_size=4, shuffle=True, seed=0) == []
    assert bucket_batches([], batch_size=4, shuffle=False) == []


@pytest.mark.parametrize("batch_size", [0, -3])
def test_bucket_batches_invalid_batch_size(batch_size):
    with pytest.raises(ConfigError, match=f"batch_size={batch_size} is invalid"):
        bucket_batches([1, 2], batch_size=batch_size, shuffle=False)


def test_bucket_batches_shuffle_needs_seed():
    with pytest.raises(ConfigError, match="seed=None is invalid"):
        bucket_batches([1, 2], batch_size=1, shuffle=True)
    with pytest.raises(ConfigError, match="seed=-1 is invalid"):
        bucket_batches([1, 2], batch_size=1, shuffle=True, seed=-1)
    with pytest.raises(ConfigError, match="epoch=-1 is invalid"):
        bucket_batches([1, 2], batch_size=1, shuffle=True, seed=0, epoch=-1)


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=0, max_value=600), max_size=400),
    batch_size=st.integers(min_value=1, max_value=12),
    shuffle=st.booleans(),
    seed=st.integers(min_value=0, max_value=2**32),
    epoch=st.integers(min_value=0, max_value=50),
)
def test_bucket_batches_partition_property(lengths, batch_size, shuffle, seed, epoch):
    batches = bucket_batches(lengths, batch_size=batch_size, shuffle=shuffle, seed=seed, epoch=epoch)

    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    if not shuffle:
        flattened_lengths = [lengths[index] for batch in batches for index in batch]
        assert flattened_lengths == sorted(lengths)
