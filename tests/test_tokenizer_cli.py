"""The `minbert tokenizer train` and `minbert tokenize` commands, run in-process."""

import json

import pytest
from tokenizers import Tokenizer

from minbert.cli.main import main
from minbert.tokenizers import BPETokenizer, WordPieceTokenizer

TRAINING_LINES = [
    "The movie was unaffable, but the hugs were warm.\n",
    "A pug hugs the puppy; the puppy hugs the pug back!\n",
    "Café crème, naïve résumé — and an emoji 🙂 too.\n",
] * 5


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text("".join(TRAINING_LINES), encoding="utf-8")
    return path


def run_output(argv, capsys) -> str:
    """Run the CLI expecting exit status 0; return its stdout."""
    assert main(argv) == 0
    return capsys.readouterr().out


def run_error(argv, capsys) -> str:
    """Run the CLI expecting exit status 2, from main or from argparse; return its single stderr line."""
    try:
        status = main(argv)
    except SystemExit as exit_request:
        status = exit_request.code
    assert status == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_train_and_tokenize_wordpiece(text_file, tmp_path, capsys):
    folder = tmp_path / "wordpiece"
    run_output(["tokenizer", "train", "--kind", "wordpiece", "--vocab-size", "90", "--output", str(folder),
                "--no-progress", str(text_file)], capsys)
    tokenizer = WordPieceTokenizer.from_vocab(folder / "vocab.txt")
    expected_ids = tokenizer.text_to_ids("The PUG hugs a café")

    pieces = run_output(["tokenize", "--tokenizer", str(folder), "The PUG hugs a café"], capsys).strip()
    ids = run_output(["tokenize", "--tokenizer", str(folder / "vocab.txt"), "--ids", "The PUG hugs a café"], capsys)

    assert tokenizer.vocab_size == 90
    assert json.loads((folder / "tokenizer_config.json").read_text()) == {"do_lower_case": True}
    assert pieces == "|".join(tokenizer.convert_ids_to_tokens(expected_ids))
    assert "pug" in pieces.split("|")
    assert pieces == pieces.lower()
    assert ids.split() == [str(index) for index in expected_ids]


def test_train_wordpiece_likelihood_score(text_file, tmp_path, capsys):
    folder = tmp_path / "wordpiece"
    run_output(["tokenizer", "train", "--kind", "wordpiece", "--vocab-size", "90", "--score", "likelihood",
                "--output", str(folder), "--no-progress", str(text_file)], capsys)

    expected = WordPieceTokenizer.train(text_file.read_text(encoding="utf-8").splitlines(), vocab_size=90,
                                        score="likelihood")
    assert WordPieceTokenizer.from_vocab(folder / "vocab.txt").vocab == expected.vocab


def test_train_wordpiece_cased(text_file, tmp_path, capsys):
    folder = tmp_path / "cased"
    run_output(["tokenizer", "train", "--kind", "wordpiece", "--vocab-size", "120", "--no-lowercase",
                "--output", str(folder), "--no-progress", str(text_file)], capsys)

    pieces = run_output(["tokenize", "--tokenizer", str(folder), "The"], capsys).strip()

    assert pieces.startswith("T")


def test_train_and_tokenize_bpe(text_file, tmp_path, capsys):
    output = tmp_path / "bpe" / "bpe.json"
    run_output(["tokenizer", "train", "--kind", "bpe", "--vocab-size", "300", "--pattern", "cl100k",
                "--special-token", "<|end|>", "--output", str(output), "--no-progress", str(text_file)], capsys)
    tokenizer = BPETokenizer.load(output)
    text = "the pug hugs<|end|>\n🙂"
    expected_ids = tokenizer.encode(text, allowed_special="all")

    pieces = run_output(["tokenize", "--tokenizer", str(output), text], capsys).strip()
    ids = run_output(["tokenize", "--tokenizer", str(output), "--ids", text], capsys).split()

    assert tokenizer.vocab_size == 300
    assert tokenizer.pattern == "cl100k"
    assert ids == [str(index) for index in expected_ids]
    assert tokenizer.special_token_ids["<|end|>"] in expected_ids
    assert "\n" not in pieces
    assert "|\\n|" in pieces
    assert Tokenizer.from_file(str(output.parent / "tokenizer.json")).encode(text).ids == expected_ids


def test_progress_bar_over_merges(text_file, tmp_path, capsys):
    assert main(["tokenizer", "train", "--kind", "bpe", "--vocab-size", "270", "--output",
                 str(tmp_path / "bpe.json"), str(text_file)]) == 0
    assert main(["tokenizer", "train", "--kind", "wordpiece", "--vocab-size", "90", "--output",
                 str(tmp_path / "wordpiece"), str(text_file)]) == 0
    errors = capsys.readouterr().err

    assert "BPE merges" in errors
    assert "WordPiece merges" in errors


def test_tokenize_default(capsys):
    pieces = run_output(["tokenize", "--tokenizer", "default", "Hello, unaffable world"], capsys).strip()
    ids = run_output(["tokenize", "--tokenizer", "default", "--ids", "Hello"], capsys).split()

    assert pieces == "hello|,|una|##ffa|##ble|world"
    assert ids == ["7592"]


def test_bad_inputs_exit_2(text_file, tmp_path, capsys):
    bad_utf8 = tmp_path / "latin1.txt"
    bad_utf8.write_bytes("caf\xe9\n".encode("latin-1"))
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    blank = tmp_path / "blank.txt"
    blank.write_text(" \n\u200b\n", encoding="utf-8")
    truncated = tmp_path / "truncated.json"
    truncated.write_text('{"format": "minbert-bpe", "version": 1, "merg', encoding="utf-8")
    not_vocab = tmp_path / "words.txt"
    not_vocab.write_text("hello\nworld\n", encoding="utf-8")
    train = ["tokenizer", "train", "--no-progress", "--output", str(tmp_path / "out.json")]
    cases = [
        (train + ["--kind", "bpe", "--vocab-size", "100", str(text_file)], "--vocab-size 100 is too small"),
        (train + ["--kind", "wordpiece", "--vocab-size", "12", str(text_file)], "--vocab-size 12 is too small"),
        (train + ["--kind", "bpe", "--vocab-size", "300", str(empty)], "training text is empty"),
        (train + ["--kind", "wordpiece", "--vocab-size", "300", str(blank)], "training text is empty"),
        (train + ["--kind", "bpe", "--vocab-size", "300", str(tmp_path / "missing.txt")], "missing.txt"),
        (train + ["--kind", "bpe", "--vocab-size", "300", str(bad_utf8)], "latin1.txt, line 1: not valid UTF-8"),
        (train + ["--kind", "bpe", "--vocab-size", "300", "--pattern", "gpt5", str(text_file)],
         "--pattern gpt5 is not a known pattern"),
        (train + ["--kind", "wordpiece", "--vocab-size", "300", "--pattern", "gpt2", str(text_file)], "--pattern"),
        (train + ["--kind", "bpe", "--vocab-size", "many", str(text_file)], "'many'"),
        (train + ["--kind", "bpe", "--vocab-size", "300", "--score", "count", str(text_file)], "--score"),
        (["tokenize", "--tokenizer", str(truncated), "hi"], "truncated.json is not valid JSON"),
        (["tokenize", "--tokenizer", str(not_vocab), "hi"], "has no [PAD] token"),
        (["tokenize", "--tokenizer", str(tmp_path / "nowhere"), "hi"], "tokenizer not found"),
        (["tokenize", "--tokenizer", str(tmp_path), "hi"], "has no vocab.txt"),
    ]
    for argv, expected in cases:
        assert expected in run_error(argv, capsys), argv
