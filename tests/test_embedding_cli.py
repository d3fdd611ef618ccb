"""minbert embed, similarity, search and evaluate --task sts, and the search index's staleness checks."""

import shutil

import numpy as np
import pytest
import torch

from minbert import BertModel
from minbert.cli.main import main
from minbert.embeddings import SentenceEncoder
from minbert.embeddings.index import default_index_path, load_or_build
from minbert.errors import CheckpointError

CORPUS = ["the movie was great fun", "a dull plot", "the plot was not bad", "awful , awful movie"]


@pytest.fixture()
def corpus(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(CORPUS[:2]) + "\n\n" + "\n".join(CORPUS[2:]) + "\n", encoding="utf-8")
    return path


def run_error(argv, capsys) -> str:
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1, error
    return error


def test_embed_writes_npy_rows_of_non_blank_lines(tiny_model_dir, corpus, capsys):
    assert main(["embed", str(corpus), "--model", str(tiny_model_dir)]) == 0

    written = np.load(corpus.with_suffix(".npy"))
    expected = SentenceEncoder.from_pretrained(tiny_model_dir).encode(CORPUS)
    assert written.shape == (4, 32)
    np.testing.assert_allclose(written, expected, atol=1e-6)
    assert "wrote 4 x 32 embeddings" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["embed", "search"])
def test_tokenless_lines_warned(command, tiny_model_dir, tmp_path, caplog):
    corpus = tmp_path / "corpus.txt"
    # A zero-width space and a bell character: neither leaves a token after normalisation.
    corpus.write_text("the movie\n\u200b\nthe plot\n\a\n", encoding="utf-8")
    argv = ["embed", str(corpus)] if command == "embed" else ["search", "movie", "--corpus", str(corpus)]

    assert main([*argv, "--model", str(tiny_model_dir)]) == 0

    assert f"{corpus} line 2 (and 1 more): no token after normalisation" in caplog.text


def test_embed_rejects_blank_table_cell(tiny_model_dir, tmp_path, capsys):
    table = tmp_path / "texts.csv"
    table.write_text("id,text\n1,good\n2, \n3,bad\n", encoding="utf-8")

    error = run_error(["embed", str(table), "--column", "text", "--model", str(tiny_model_dir)], capsys)

    assert f"{table} line 3: column 'text' is blank (expected a text in every row)" in error
    assert not table.with_suffix(".npy").exists()


def test_missing_table_reported_before_missing_column(tiny_model_dir, tmp_path, capsys):
    table = tmp_path / "missing.csv"

    error = run_error(["embed", str(table), "--model", str(tiny_model_dir)], capsys)

    assert f"{table}: file not found (expected a CSV, TSV or JSONL table)" in error


def test_search_escapes_control_characters(tiny_model_dir, tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the \x1b[31mmovie\x1b[0m\n", encoding="utf-8")

    assert main(["search", "movie", "--corpus", str(corpus), "--model", str(tiny_model_dir)]) == 0
    printed = capsys.readouterr()

    assert printed.out.split("\t")[2] == "the \\x1b[31mmovie\\x1b[0m\n"
    assert "indexed 1 text into" in printed.err


def test_embed_reads_a_table_column(tiny_model_dir, tmp_path):
    table = tmp_path / "table.tsv"
    table.write_text("id\ttext\n1\tgood movie\n2\tbad movie\n", encoding="utf-8")
    output = tmp_path / "out.npy"

    assert main(["embed", str(table), "--column", "text", "--output", str(output), "--model",
                 str(tiny_model_dir)]) == 0

    expected = SentenceEncoder.from_pretrained(tiny_model_dir).encode(["good movie", "bad movie"])
    np.testing.assert_allclose(np.load(output), expected, atol=1e-6)


def test_similarity_prints_cosine(tiny_model_dir, capsys):
    assert main(["similarity", "good movie", "bad movie", "--model", str(tiny_model_dir)]) == 0

    first, second = SentenceEncoder.from_pretrained(tiny_model_dir).encode(["good movie", "bad movie"])
    assert capsys.readouterr().out == f"{float(first @ second):.4f}\n"


def test_search_finds_exact_line_and_reuses_index(tiny_model_dir, corpus, capsys):
    argv = ["search", "a dull plot", "--corpus", str(corpus), "--top-k", "2", "--model", str(tiny_model_dir)]
    assert main(argv) == 0
    first = capsys.readouterr()
    assert "indexed 4 texts" in first.err
    top = first.out.splitlines()[0].split("\t")
    assert top == ["1.0000", "2", "a dull plot"]
    assert len(first.out.splitlines()) == 2
    assert default_index_path(corpus).is_file()

    assert main(argv) == 0
    second = capsys.readouterr()
    assert second.err == ""
    assert second.out == first.out


def test_index_rebuilt_when_corpus_changes(tiny_model_dir, corpus):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    assert load_or_build(corpus, encoder, model_folder=tiny_model_dir).rebuilt
    assert not load_or_build(corpus, encoder, model_folder=tiny_model_dir).rebuilt

    corpus.write_text("\n".join(CORPUS[::-1]) + "\n", encoding="utf-8")
    index = load_or_build(corpus, encoder, model_folder=tiny_model_dir)

    assert index.rebuilt
    assert [text.text for text in index.texts] == CORPUS[::-1]
    np.testing.assert_allclose(index.embeddings, encoder.encode(CORPUS[::-1]), atol=1e-6)


def test_index_rebuilt_when_model_changes(tiny_model_dir, corpus, tmp_path, caplog):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    first = load_or_build(corpus, SentenceEncoder.from_pretrained(model), model_folder=model)

    torch.manual_seed(1)
    BertModel(BertModel.from_pretrained(model).config).save_pretrained(model)
    retrained = SentenceEncoder.from_pretrained(model)
    second = load_or_build(corpus, retrained, model_folder=model)

    assert second.rebuilt
    assert "stale (model changed)" in caplog.text
    assert not np.allclose(first.embeddings, second.embeddings)
    np.testing.assert_allclose(second.embeddings, retrained.encode(CORPUS), atol=1e-6)


def test_index_rebuilt_when_file_is_corrupt(tiny_model_dir, corpus):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    load_or_build(corpus, encoder, model_folder=tiny_model_dir)
    default_index_path(corpus).write_bytes(b"not an npz file")

    assert load_or_build(corpus, encoder, model_folder=tiny_model_dir).rebuilt


def test_evaluate_sts_prints_correlations(data_dir, tiny_model_dir, capsys):
    assert main(["evaluate", "--task", "sts", "--model", str(tiny_model_dir), "--data-dir", str(data_dir),
                 "--json"]) == 0
    import json

    result = json.loads(capsys.readouterr().out)
    assert result["pairs"] == 863
    assert -1 <= result["spearman"] <= 1
    assert -1 <= result["pearson"] <= 1


@pytest.mark.parametrize(("argv", "message"), [
    (["search", "  ", "--corpus", "CORPUS"], "the query is empty"),
    (["similarity", "good", ""], "TEXT_B is empty"),
    (["embed", "EMPTY"], "no text (expected at least one non-blank line)"),
    (["search", "good", "--corpus", "EMPTY"], "no text"),
    (["embed", "TABLE", "--column", "sentence"], "missing column 'sentence'"),
    (["embed", "TABLE"], "a table file needs --column NAME"),
    (["search", "good", "--corpus", "CORPUS", "--top-k", "0"], "--top-k 0 is invalid"),
    (["embed", "CORPUS", "--batch-size", "0"], "--batch-size 0 is invalid"),
    (["embed", "CORPUS", "--model", "NOT_BERT"], "config.json"),
    (["embed", "CORPUS", "--column", "text"], "--column text applies to .csv"),
    (["similarity", "good", "\u200b"], "has no token after normalisation"),
    (["search", "\x00", "--corpus", "CORPUS"], "has no token after normalisation"),
    (["evaluate", "--task", "sts", "--checkpoint", "x"], "--task sts takes --model DIR"),
])
def test_bad_input_is_one_line(argv, message, tiny_model_dir, corpus, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    table = tmp_path / "table.csv"
    table.write_text("id\ttext\n1\tgood\n", encoding="utf-8")
    not_bert = tmp_path / "not-bert"
    not_bert.mkdir()
    replacements = {"CORPUS": str(corpus), "EMPTY": str(empty), "TABLE": str(table), "NOT_BERT": str(not_bert)}
    argv = [replacements.get(argument, argument) for argument in argv]
    if "--model" not in argv and argv[0] != "evaluate":
        argv += ["--model", str(tiny_model_dir)]

    assert message in run_error(argv, capsys)


def test_index_option_must_be_an_index_file(tiny_model_dir, corpus, capsys):
    before = corpus.read_bytes()
    error = run_error(["search", "plot", "--corpus", str(corpus), "--index", str(corpus), "--model",
                       str(tiny_model_dir)], capsys)

    assert "must end in .minbert-index.npz" in error
    assert corpus.read_bytes() == before


def test_index_link_to_other_file_rejected(tiny_model_dir, corpus, tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    link = tmp_path / "search.minbert-index.npz"
    link.symlink_to(notes)

    error = run_error(["search", "plot", "--corpus", str(corpus), "--index", str(link), "--model",
                       str(tiny_model_dir)], capsys)

    assert "whose name does not end in .minbert-index.npz" in error
    assert notes.read_text() == "my notes\n"


def test_index_link_loop_rejected(tiny_model_dir, corpus, tmp_path, capsys):
    loop = tmp_path / "loop.minbert-index.npz"
    loop.symlink_to(loop)

    error = run_error(["search", "plot", "--corpus", str(corpus), "--index", str(loop), "--model",
                       str(tiny_model_dir)], capsys)

    assert error.strip().endswith(f"--index {loop}: symbolic link loop (expected a path that resolves)")


def test_index_folder_rejected_before_embedding(tiny_model_dir, corpus, capsys):
    default_index_path(corpus).mkdir()
    error = run_error(["search", "plot", "--corpus", str(corpus), "--model", str(tiny_model_dir)], capsys)

    assert "is not a regular file" in error


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 random bytes", b"\x93NUMPY not an npz"])
def test_damaged_index_is_rebuilt(tiny_model_dir, corpus, content, caplog):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    default_index_path(corpus).write_bytes(content)

    index = load_or_build(corpus, encoder, model_folder=tiny_model_dir)

    assert index.rebuilt
    assert "not a readable minbert index" in caplog.text
    assert not load_or_build(corpus, encoder, model_folder=tiny_model_dir).rebuilt


def test_index_holding_plain_npy_is_rebuilt(tiny_model_dir, corpus):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    np.save(default_index_path(corpus).open("wb"), np.zeros((4, 32), dtype=np.float32))

    assert load_or_build(corpus, encoder, model_folder=tiny_model_dir).rebuilt


def test_search_prints_one_line_per_hit(tiny_model_dir, tmp_path, capsys):
    table = tmp_path / "cells.csv"
    table.write_text('id,text\n1,"a dull\nplot"\n2,"great\tfun"\n', encoding="utf-8")

    assert main(["search", "plot", "--corpus", str(table), "--column", "text", "--model", str(tiny_model_dir)]) == 0

    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert sorted(line.split("\t")[2] for line in lines) == ["a dull plot", "great fun"]


def test_sts_rejects_out_of_range_and_constant_scores(tiny_model_dir, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    header = "id\tsentence1\tsentence2\tsimilarity\n"
    (data / "sts-dev.csv").write_text(header + "1\ta\tb\t3.0\n2\tc\td\t7.5\n", encoding="utf-8")
    argv = ["evaluate", "--task", "sts", "--model", str(tiny_model_dir), "--data-dir", str(data)]
    assert "sts-dev.csv:3: similarity 7.5 is out of range (expected 0 to 5)" in run_error(argv, capsys)

    (data / "sts-dev.csv").write_text(header + "1\tgood\tbad\t3.0\n2\tfun\tdull\t3.0\n", encoding="utf-8")
    assert "correlation is undefined" in run_error(argv, capsys)


def test_too_long_max_seq_length_names_file(tiny_model_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "modules.json").write_text('[{"idx": 0, "name": "0", "path": "", '
                                         '"type": "sentence_transformers.models.Transformer"}]')
    (folder / "sentence_bert_config.json").write_text('{"max_seq_length": 600}')

    with pytest.raises(CheckpointError, match=r"sentence_bert_config.json: max_seq_length 600 is above"):
        SentenceEncoder.from_pretrained(folder)
