"""Bad input to the CLI: corpora read from pipes, out-of-range options, missing files, damaged models, Ctrl-C."""

import io
import os
import pickle
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch

from minbert.cli import main as cli_main
from minbert.cli.main import main
from minbert.embeddings import SentenceEncoder
from minbert.embeddings.index import load_or_build
from minbert.errors import CheckpointError, DataError
from minbert.metrics.correlation import pearson
from minbert.model.checkpoint import read_weights
from minbert.tokenizers.wordpiece import WordPieceTokenizer

FIRST_TEXTS = ["the movie was great fun", "a dull plot"]
SECOND_TEXTS = ["awful , awful movie", "the plot was not bad"]


def run_error(argv: list[str], capsys) -> str:
    """Run the CLI expecting exit status 2, and return its single stderr line."""
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    assert "Traceback" not in error
    return error.rstrip("\n")


@contextmanager
def feeding(fifo: Path, texts: list[str]) -> Iterator[None]:
    """Write ``texts`` as lines into the FIFO ``fifo`` from a thread while the block reads it.

    Until the block ends, the thread also gives an end of file to any reader that opens the FIFO again,
    so code that reads the corpus twice fails its assertions instead of hanging.
    """
    done = threading.Event()

    def write() -> None:
        with open(fifo, "w", encoding="utf-8") as pipe:
            pipe.write("\n".join(texts) + "\n")
        while not done.wait(0.1):
            try:
                descriptor = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no process has the FIFO open for reading
                continue
            os.close(descriptor)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        yield
    finally:
        done.set()
        writer.join(timeout=10)


# Corpora read once from a pipe: the index must describe the texts that were embedded.

def test_index_from_fifo_rebuilt_for_new_texts(tiny_model_dir, tmp_path):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    index_path = tmp_path / "piped.minbert-index.npz"

    with feeding(fifo, FIRST_TEXTS):
        first = load_or_build(fifo, encoder, model_folder=tiny_model_dir, index_path=index_path)
    with feeding(fifo, SECOND_TEXTS):
        second = load_or_build(fifo, encoder, model_folder=tiny_model_dir, index_path=index_path)

    assert first.rebuilt
    assert second.rebuilt
    assert [text.text for text in second.texts] == SECOND_TEXTS
    np.testing.assert_allclose(second.embeddings, encoder.encode(SECOND_TEXTS), atol=1e-6)


def test_index_from_fifo_reused_for_same_texts(tiny_model_dir, tmp_path):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    fifo = tmp_path / "corpus.fifo"
    os.mkfifo(fifo)
    index_path = tmp_path / "piped.minbert-index.npz"

    for expected_rebuilt in (True, False):
        with feeding(fifo, FIRST_TEXTS):
            index = load_or_build(fifo, encoder, model_folder=tiny_model_dir, index_path=index_path)
        assert index.rebuilt == expected_rebuilt


def test_search_on_process_substitution_uses_new_text(tiny_model_dir, tmp_path, capsys):
    # /dev/fd/N of a pipe is what `--corpus <(...)` passes.
    index_path = tmp_path / "piped.minbert-index.npz"
    printed = []
    for texts in (FIRST_TEXTS, SECOND_TEXTS):
        read_end, write_end = os.pipe()
        with os.fdopen(write_end, "w", encoding="utf-8") as pipe:
            pipe.write("\n".join(texts) + "\n")
        try:
            assert main(["search", "movie", "--corpus", f"/dev/fd/{read_end}", "--index", str(index_path),
                         "--top-k", "2", "--no-progress", "--model", str(tiny_model_dir)]) == 0
        finally:
            os.close(read_end)
        printed.append(capsys.readouterr().out)

    # The texts are read anew on each run, so a stale index shows in the scores, not the texts.
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    query = encoder.encode("movie", normalize=True)
    hits = [line.split("\t") for line in printed[1].splitlines()]
    assert sorted(text for _, _, text in hits) == sorted(SECOND_TEXTS)
    for score, _, text in hits:
        assert float(score) == pytest.approx(float(encoder.encode(text, normalize=True) @ query), abs=1e-4)


def test_index_rebuilt_for_same_size_edit(tiny_model_dir, tmp_path):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("good movie\nbad movie\n", encoding="utf-8")
    load_or_build(corpus, encoder, model_folder=tiny_model_dir)
    corpus.write_text("bad movie\ngood movie\n", encoding="utf-8")

    index = load_or_build(corpus, encoder, model_folder=tiny_model_dir)

    assert index.rebuilt
    np.testing.assert_allclose(index.embeddings, encoder.encode(["bad movie", "good movie"]), atol=1e-6)


@pytest.mark.parametrize("damage", ["text", "integers", "nan", "one_dimension"])
def test_index_with_bad_embeddings_is_rebuilt(tiny_model_dir, tmp_path, damage, caplog):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(FIRST_TEXTS) + "\n", encoding="utf-8")
    index_path = tmp_path / "corpus.txt.minbert-index.npz"
    load_or_build(corpus, encoder, model_folder=tiny_model_dir)

    # Rewrite the file as a valid .npz with the same record, so only the embeddings are wrong.
    with np.load(index_path) as stored:
        record, embeddings = stored["record"], stored["embeddings"]
    replaced = {"text": embeddings.astype("U5"), "integers": embeddings.astype(np.int64),
                "nan": np.full_like(embeddings, np.nan), "one_dimension": embeddings.ravel()}[damage]
    np.savez(index_path, embeddings=replaced, record=record)

    index = load_or_build(corpus, encoder, model_folder=tiny_model_dir)

    assert index.rebuilt
    assert "not a readable minbert index" in caplog.text
    np.testing.assert_allclose(index.embeddings, embeddings, atol=1e-6)


def test_search_with_bad_embeddings_prints_hits(tiny_model_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(FIRST_TEXTS) + "\n", encoding="utf-8")
    argv = ["search", "movie", "--corpus", str(corpus), "--no-progress", "--model", str(tiny_model_dir)]
    assert main(argv) == 0
    index_path = tmp_path / "corpus.txt.minbert-index.npz"
    with np.load(index_path) as stored:
        np.savez(index_path, embeddings=stored["embeddings"].astype("U5"), record=stored["record"])
    capsys.readouterr()

    assert main(argv) == 0

    captured = capsys.readouterr()
    assert "indexed 2 texts" in captured.err
    assert "nan" not in captured.out
    assert len(captured.out.splitlines()) == 2


# Option values out of range.

@pytest.fixture
def text_files(tmp_path) -> dict[str, Path]:
    paths = {"ref": tmp_path / "ref.txt", "hyp": tmp_path / "hyp.txt", "folder": tmp_path / "folder.txt",
             "missing": tmp_path / "missing.txt"}
    paths["ref"].write_text("the cat sat\na dog ran\n", encoding="utf-8")
    paths["hyp"].write_text("the cat sat\na dog sat\n", encoding="utf-8")
    paths["folder"].mkdir()
    return paths


@pytest.mark.parametrize(("options", "message"), [
    (["--width", "-1"], "--width -1 is invalid (expected 0 to 17 decimal places)"),
    (["--width", "18"], "--width 18 is invalid"),
    (["--smooth-method", "add-k", "--smooth-value", "inf"], "--smooth-value inf is invalid"),
    (["--smooth-method", "floor", "--smooth-value", "nan"], "--smooth-value nan is invalid"),
    (["--max-ngram-order", "0"], "--max-ngram-order 0 is invalid"),
])
def test_bleu_bad_option_is_one_line(options, message, text_files, capsys):
    argv = ["bleu", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"]), *options]
    assert message in run_error(argv, capsys)


def test_bleu_width_zero_prints_integer_score(tmp_path, capsys):
    text = tmp_path / "text.txt"
    text.write_text("the cat sat on the mat\n", encoding="utf-8")
    assert main(["bleu", "--ref", str(text), "-i", str(text), "--width", "0"]) == 0
    assert " = 100 " in capsys.readouterr().out


@pytest.mark.parametrize(("options", "message"), [
    (["--seed", "-1"], "--seed -1 is invalid (expected an integer of at least 0)"),
    (["--bootstrap-samples", "0"], "--bootstrap-samples 0 is invalid"),
    (["--confidence", "1"], "--confidence 1.0 is invalid"),
    (["--confidence", "nan"], "--confidence nan is invalid"),
])
def test_rouge_bad_option_is_one_line(options, message, text_files, capsys):
    argv = ["rouge", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"]), *options]
    assert message in run_error(argv, capsys)


def test_rouge_checks_options_before_files(text_files, capsys):
    missing = str(text_files["missing"])

    error = run_error(["rouge", "--ref", missing, "-i", missing, "--seed", "-1"], capsys)

    assert "--seed -1 is invalid" in error


@pytest.mark.parametrize(("options", "message"), [
    (["--order", "0"], "--order 0 is invalid"),
    (["--order", "-2"], "--order -2 is invalid"),
    (["--min-count", "0"], "--min-count 0 is invalid"),
    (["--smoothing", "add-k", "--k", "0"], "--k 0.0 is invalid"),
    (["--discount", "0"], "--discount 0.0 is invalid"),
    (["--discount", "nan"], "--discount nan is invalid"),
])
def test_perplexity_bad_option_is_one_line(options, message, text_files, capsys):
    argv = ["perplexity", "--train", str(text_files["ref"]), "--eval", str(text_files["hyp"]), *options]
    assert message in run_error(argv, capsys)


@pytest.mark.parametrize(("argv", "message"), [
    (["search", "movie", "--corpus", "CORPUS", "--top-k", "-1"], "--top-k -1 is invalid"),
    (["search", "movie", "--corpus", "CORPUS", "--batch-size", "-3"], "--batch-size -3 is invalid"),
    (["evaluate", "--checkpoint", "x", "--file", "x.csv", "--batch-size", "0"], "--batch-size 0 is invalid"),
])
def test_embedding_bad_option_is_one_line(argv, message, tiny_model_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("good movie\n", encoding="utf-8")
    argv = [str(corpus) if argument == "CORPUS" else argument for argument in argv]
    if argv[0] == "search":
        argv += ["--model", str(tiny_model_dir)]
    assert message in run_error(argv, capsys)


# An empty path is an error, even where leaving the option out means a default.

@pytest.mark.parametrize(("argv", "argument"), [
    (["similarity", "--model", "", "a", "b"], "--model"),
    (["evaluate", "--task", "sts", "--checkpoint", ""], "--checkpoint"),
    (["finetune", "--task", "sst", "--data-dir", ""], "--data-dir"),
    (["embed", ""], "FILE"),
    (["embed", " "], "FILE"),
    (["search", "movie", "--corpus", "c.txt", "--index", ""], "--index"),
    (["bleu", "--ref", "r.txt", "--input", ""], "--input/-i"),
    (["rouge", "--ref", "", "--input", "h.txt"], "--ref/-r"),
    (["perplexity", "--train", "", "--eval", "e.txt"], "--train"),
    (["predict", "--checkpoint", "c", "--input", "", "--output", "o.csv"], "--input"),
    (["tokenizer", "train", "", "--vocab-size", "10", "--output", "v"], "FILE"),
    (["tokenize", "--tokenizer", "", "text"], "--tokenizer"),
])
def test_empty_path_is_rejected(argv, argument, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    error = capsys.readouterr().err

    assert exit_info.value.code == 2
    assert error.count("\n") == 1
    assert f"argument {argument}: is empty (expected a path)" in error


def test_unknown_argument_names_the_subcommand(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["embed", "x.txt", "--bogus", "1"])
    error = capsys.readouterr().err

    assert exit_info.value.code == 2
    assert error == "minbert embed: error: unrecognized arguments: --bogus 1 (see minbert embed --help)\n"


def test_unknown_argument_names_the_nested_subcommand(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["sbert", "train", "--output", str(tmp_path / "out"), "--bogus"])
    error = capsys.readouterr().err

    assert exit_info.value.code == 2
    assert error == "minbert sbert train: error: unrecognized arguments: --bogus (see minbert sbert train --help)\n"


def test_array_too_large_for_memory_is_one_line(text_files, capsys):
    argv = ["rouge", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"]), "--bootstrap-samples", "100000000000"]

    error = run_error(argv, capsys)

    assert error == "minbert rouge: error: out of memory (expected smaller inputs or option values)"


def test_evaluate_rejects_model_with_checkpoint(capsys):
    error = run_error(["evaluate", "--task", "sst", "--checkpoint", "c", "--model", "m"], capsys)

    assert "--model applies to --task sts only" in error


# Input files: one line naming the path, not an errno.

@pytest.mark.parametrize(("argv", "name", "problem"), [
    (["bleu", "--ref", "FOLDER", "-i", "HYP"], "folder", "is a folder (expected a UTF-8 text file"),
    (["bleu", "--ref", "MISSING", "-i", "HYP"], "missing", "file not found (expected a UTF-8 text file"),
    (["bleu", "--ref", "REF", "-i", "FOLDER"], "folder", "is a folder"),
    (["rouge", "--ref", "FOLDER", "-i", "HYP"], "folder", "is a folder"),
    (["rouge", "--ref", "REF", "-i", "MISSING"], "missing", "file not found"),
    (["perplexity", "--train", "FOLDER", "--eval", "HYP"], "folder", "is a folder"),
    (["perplexity", "--train", "REF", "--eval", "MISSING"], "missing", "file not found"),
])
def test_metric_input_file_errors(argv, name, problem, text_files, capsys):
    paths = {"FOLDER": text_files["folder"], "MISSING": text_files["missing"], "REF": text_files["ref"],
             "HYP": text_files["hyp"]}
    argv = [str(paths[argument]) if argument in paths else argument for argument in argv]

    error = run_error(argv, capsys)

    assert f": error: {text_files[name]}: {problem}" in error
    assert "Errno" not in error


def test_bleu_invalid_utf8_names_line_and_offset(text_files, capsys):
    text_files["hyp"].write_bytes(b"the cat sat\na d\xffg sat\n")
    error = run_error(["bleu", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"])], capsys)
    assert error.endswith(f"{text_files['hyp']}:2: invalid UTF-8 bytes b'\\xff' at byte offset 3 of the line "
                          "(expected UTF-8 text)")


# Model and vocabulary files.

@pytest.fixture
def model_copy(tiny_model_dir, tmp_path) -> Path:
    """The tiny model's config.json and vocab.txt, without weights: each test writes its own pytorch_model.bin."""
    folder = tmp_path / "model"
    folder.mkdir()
    for name in ("config.json", "vocab.txt"):
        (folder / name).write_bytes((tiny_model_dir / name).read_bytes())
    return folder


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(4096), b"", b"hello", pickle.dumps({"a": 1})],
                         ids=["random", "empty", "text", "plain_pickle"])
def test_damaged_pytorch_weights_one_line(model_copy, content):
    (model_copy / "pytorch_model.bin").write_bytes(content)

    with pytest.raises(CheckpointError) as raised:
        read_weights(model_copy)

    message = str(raised.value)
    assert message.startswith(f"{model_copy / 'pytorch_model.bin'}: cannot read weights")
    assert "weights_only" not in message
    assert "\n" not in message


def test_pickled_code_in_weights_is_not_run(model_copy):
    buffer = io.BytesIO()
    torch.save(os.system, buffer)
    (model_copy / "pytorch_model.bin").write_bytes(buffer.getvalue())

    with pytest.raises(CheckpointError, match="damaged or contains objects other than tensors") as raised:
        read_weights(model_copy)
    assert "weights_only" not in str(raised.value)


@pytest.mark.parametrize(("saved", "problem"), [
    ([torch.zeros(2)], "the file contains a list"),
    ({"weight": 3}, "the dict contains values other than tensors"),
])
def test_weights_that_are_not_a_state_dict(model_copy, saved, problem):
    torch.save(saved, model_copy / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=problem):
        read_weights(model_copy)


def test_similarity_with_damaged_weights_one_line(model_copy, capsys):
    (model_copy / "pytorch_model.bin").write_bytes(b"\x80\x02 damaged")
    error = run_error(["similarity", "good", "bad", "--model", str(model_copy)], capsys)
    assert "pytorch_model.bin: cannot read weights" in error


def test_vocab_with_byte_order_mark(tmp_path, capsys):
    vocab = tmp_path / "vocab.txt"
    vocab.write_bytes("\ufeff[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n".encode())

    tokenizer = WordPieceTokenizer.from_vocab(vocab)

    assert tokenizer.vocab["[PAD]"] == 0
    assert tokenizer.vocab_size == 6
    assert main(["tokenize", "--tokenizer", str(vocab), "hello"]) == 0
    assert capsys.readouterr().out == "hello\n"


# Empty text, wording of counts, and Ctrl-C.

@pytest.mark.parametrize(("text", "message"), [
    ("", "TEXT is empty (expected some text)"),
    ("   ", "TEXT '   ' has no token after normalisation"),
    ("\u200b", "has no token after normalisation"),
])
def test_tokenize_rejects_text_without_tokens(text, message, capsys):
    assert message in run_error(["tokenize", "--tokenizer", "default", text], capsys)


def test_tokenize_bpe_rejects_empty_text(tmp_path, capsys):
    training = tmp_path / "train.txt"
    training.write_text("low lower lowest\n" * 5, encoding="utf-8")
    bpe = tmp_path / "bpe.json"
    assert main(["tokenizer", "train", "--kind", "bpe", "--vocab-size", "260", "--output", str(bpe),
                 str(training)]) == 0
    capsys.readouterr()

    assert "TEXT is empty" in run_error(["tokenize", "--tokenizer", str(bpe), ""], capsys)


def test_correlation_of_one_pair_wording():
    with pytest.raises(DataError, match="^a correlation needs at least 2 pairs of values, got 1$"):
        pearson([1.0], [2.0])


def test_evaluate_sts_one_pair_names_file(tiny_model_dir, tmp_path, capsys):
    (tmp_path / "sts-dev.csv").write_text("id\tsentence1\tsentence2\tsimilarity\n1\tgood\tbad\t2.5\n",
                                          encoding="utf-8")
    error = run_error(["evaluate", "--task", "sts", "--data-dir", str(tmp_path), "--model", str(tiny_model_dir)],
                      capsys)
    assert error.endswith(f"{tmp_path / 'sts-dev.csv'}: only one sentence pair (expected at least 2 for a correlation)")


def test_interrupt_while_importing(monkeypatch, capsys):
    def interrupted(name: str):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_main, "import_module", interrupted)

    assert main(["similarity", "a", "b"]) == 130
    assert capsys.readouterr().err == "minbert: interrupted\n"


def test_interrupt_handler_restored_after_start_up(text_files):
    assert main(["bleu", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"])]) == 0
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_ctrl_c_during_torch_import():
    # A fresh interpreter that receives SIGINT when it starts importing torch, as on Ctrl-C during start-up.
    program = (
        "import os, signal, sys, time\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "            time.sleep(30)\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from minbert.cli.main import main\n"
        "sys.exit(main(['similarity', 'a', 'b']))\n"
    )
    completed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)

    assert completed.returncode == 130
    assert completed.stderr == "minbert: interrupted\n"
