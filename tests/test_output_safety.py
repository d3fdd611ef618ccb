"""Outputs never replace files minbert did not write, nor the files a command reads.

Each rejection is checked three ways: exit status 2 with one line naming the
path, the existing files unchanged, and no work done first. To show the last
point, a test replaces the model loader or the trainer by a function that
fails the test if called.
"""

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from conftest import toy_sentiment_rows, write_tsv
from minbert.atomic import atomic_folder
from minbert.cli.main import main
from minbert.errors import ConfigError, OutputError
from minbert.outputs import (MODEL_FOLDER, MULTITASK_RUN_FOLDER, check_not_input, check_output_folder, output_path,
                             unexpected_entries)
from minbert.training.checkpoint import load_classifier
from test_multitask import write_toy_data_dir
from test_sbert_training import toy_pairs, write_pairs

TRAINING_TEXT = "the movie was good fun\nthe plot was dull and awful\n" * 20


def run_error(argv, capsys) -> str:
    """Run the CLI expecting exit status 2; return its single stderr line."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def forbid(monkeypatch, target: str) -> None:
    """Make ``target`` (module.attribute) fail the test when called, to show a check ran before it."""
    def called_too_early(*args, **kwargs):
        raise AssertionError(f"{target} was called before the output was checked")

    monkeypatch.setattr(target, called_too_early)


def snapshot(folder):
    """Map every file under ``folder`` to its bytes."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def user_project(folder):
    """A user's folder that happens to have a config.json, as many project folders do."""
    (folder / "src").mkdir(parents=True)
    (folder / "config.json").write_text('{"app": "settings"}\n')
    (folder / "notes.txt").write_text("notes\n")
    (folder / "src" / "main.py").write_text("print(1)\n")
    return folder


def copy_model(tiny_model_dir, folder):
    shutil.copytree(tiny_model_dir, folder)
    return folder


@pytest.fixture
def toy_files(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    train = write_tsv(data / "train.csv", toy_sentiment_rows(32, seed=1))
    dev = write_tsv(data / "dev.csv", toy_sentiment_rows(12, seed=2))
    return train, dev


@pytest.fixture
def sts_data_dir(tmp_path):
    folder = tmp_path / "sts-data"
    folder.mkdir()
    write_pairs(folder / "sts-train.csv", toy_pairs(16, seed=1))
    write_pairs(folder / "sts-dev.csv", toy_pairs(8, seed=2))
    return folder


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(TRAINING_TEXT)
    return path


def finetune_args(tiny_model_dir, toy_files, output, *extra):
    train, dev = toy_files
    return ["finetune", "--model", str(tiny_model_dir), "--train", str(train), "--dev", str(dev),
            "--num-labels", "2", "--output", str(output), "--no-progress", "--epochs", "1", "--lr", "1e-3", *extra]


def sbert_args(tiny_model_dir, data_dir, output, *extra):
    return ["sbert", "train", "--model", str(tiny_model_dir), "--data-dir", str(data_dir), "--output", str(output),
            "--no-progress", "--max-steps", "1", "--batch-size", "4", *extra]


def multitask_args(tiny_model_dir, data_dir, output):
    return ["finetune", "--task", "multitask", "--model", str(tiny_model_dir), "--data-dir", str(data_dir),
            "--output", str(output), "--no-progress", "--epochs", "1", "--tasks", "sts", "--max-train-examples", "8",
            "--batch-size", "4"]


def tokenizer_args(kind, output, *files):
    return ["tokenizer", "train", "--kind", kind, "--vocab-size", "300" if kind == "bpe" else "60",
            "--output", str(output), "--no-progress", *map(str, files)]


# The layout check on its own.

def test_unexpected_entries_of_model_folder(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text("{}")
    (tmp_path / "2_Normalize").mkdir()
    assert unexpected_entries(tmp_path, MODEL_FOLDER) == []

    (tmp_path / "1_Pooling" / "notes.txt").write_text("mine")
    (tmp_path / "vocab.txt").mkdir()
    (tmp_path / "README.md").write_text("card")
    assert unexpected_entries(tmp_path, MODEL_FOLDER) == ["1_Pooling/notes.txt", "README.md", "vocab.txt"]


def test_unexpected_entries_rejects_symbolic_links(tmp_path):
    outside = tmp_path / "thesis.txt"
    outside.write_text("precious")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "vocab.txt").symlink_to(outside)
    assert unexpected_entries(folder, MODEL_FOLDER) == ["vocab.txt"]


def test_unexpected_entries_allows_leftover_temporaries(tmp_path):
    (tmp_path / ".model.safetensors.k2j_x9ab.tmp").write_bytes(b"partial")
    assert unexpected_entries(tmp_path, MODEL_FOLDER) == []
    (tmp_path / ".thesis.txt.k2j_x9ab.tmp").write_bytes(b"partial")
    assert unexpected_entries(tmp_path, MODEL_FOLDER) == [".thesis.txt.k2j_x9ab.tmp"]


def test_unexpected_entries_of_multitask_run(tmp_path):
    (tmp_path / "metrics.json").write_text("{}")
    (tmp_path / "best").mkdir()
    (tmp_path / "best" / "model.safetensors").write_bytes(b"")
    assert unexpected_entries(tmp_path, MULTITASK_RUN_FOLDER) == []
    (tmp_path / "best" / "notes.txt").write_text("mine")
    assert unexpected_entries(tmp_path, MULTITASK_RUN_FOLDER) == ["best/notes.txt"]


def test_folder_error_names_first_entries(tmp_path):
    for name in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt"):
        (tmp_path / name).write_text("mine")
    with pytest.raises(OutputError) as error:
        check_output_folder(tmp_path, MODEL_FOLDER, flag="--output", kind="model folder", replaced_whole=True)
    assert str(error.value) == (f"--output {tmp_path}: the folder contains a.txt, b.txt, c.txt and 2 more, which "
                                "minbert does not write in a model folder; choose a new or empty folder")


def test_folder_under_a_file_rejected(tmp_path):
    (tmp_path / "file.txt").write_text("mine")
    with pytest.raises(OutputError, match="is not a folder"):
        check_output_folder(tmp_path / "file.txt" / "model", MODEL_FOLDER, flag="--output", kind="model folder",
                            replaced_whole=True)


def test_empty_output_path_rejected():
    with pytest.raises(ConfigError, match="^--output is empty"):
        output_path("", "--output")


def test_hard_and_symbolic_links_are_inputs(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("text\nhello\n")
    (tmp_path / "hard.csv").hardlink_to(data)
    (tmp_path / "soft.csv").symlink_to(data)
    for name in ("hard.csv", "soft.csv", "../" + tmp_path.name + "/data.csv"):
        with pytest.raises(OutputError, match="is the input file, which this command reads"):
            check_not_input(tmp_path / name, [(data, "the input file")], name=f"--output {name}")
    check_not_input(tmp_path / "other.csv", [(data, "the input file")], name="--output other.csv")


def test_atomic_folder_replaces_target_of_link(tmp_path):
    target = tmp_path / "real"
    target.mkdir()
    (target / "old.txt").write_text("old")
    link = tmp_path / "link"
    link.symlink_to(target)
    with atomic_folder(link) as staging:
        (staging / "new.txt").write_text("new")
    assert link.is_symlink()
    assert sorted(path.name for path in target.iterdir()) == ["new.txt"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["link", "real"]


# sbert train

def test_sbert_keeps_user_project(tiny_model_dir, sts_data_dir, tmp_path, capsys, monkeypatch):
    project = user_project(tmp_path / "myproj")
    before = snapshot(project)
    forbid(monkeypatch, "minbert.cli.sbert.load_model")
    line = run_error(sbert_args(tiny_model_dir, sts_data_dir, project), capsys)
    assert f"--output {project}: the folder contains notes.txt, src" in line
    assert snapshot(project) == before


def test_sbert_replaces_earlier_model(tiny_model_dir, sts_data_dir, tmp_path):
    output = copy_model(tiny_model_dir, tmp_path / "model")
    (output / "metrics.json").write_text("{}")
    (output / "pytorch_model.bin").write_bytes(b"stale")
    assert main(sbert_args(tiny_model_dir, sts_data_dir, output)) == 0
    assert not (output / "pytorch_model.bin").exists()
    assert json.loads((output / "metrics.json").read_text())["best_epoch"] == 1
    assert (output / "modules.json").is_file()


def test_sbert_unwritable_output_fails_first(tiny_model_dir, sts_data_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "file.txt").write_text("mine")
    forbid(monkeypatch, "minbert.cli.sbert.load_model")
    line = run_error(sbert_args(tiny_model_dir, sts_data_dir, tmp_path / "file.txt" / "model"), capsys)
    assert "cannot write here" in line


def test_sbert_output_holding_data_rejected(tiny_model_dir, sts_data_dir, capsys, monkeypatch):
    forbid(monkeypatch, "minbert.cli.sbert.load_model")
    line = run_error(sbert_args(tiny_model_dir, sts_data_dir, sts_data_dir.parent), capsys)
    assert "contains the data folder" in line


def test_sbert_checks_permission_first(tiny_model_dir, sts_data_dir, tmp_path, capsys, monkeypatch):
    # Tests may run as root, which ignores file modes, so a patched os.access reports the folder as read-only.
    read_only = tmp_path / "ro"
    read_only.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access",
                        lambda path, mode: real_access(path, mode) and Path(path).resolve() != read_only.resolve())
    forbid(monkeypatch, "minbert.cli.sbert.load_model")
    line = run_error(sbert_args(tiny_model_dir, sts_data_dir, read_only / "model"), capsys)
    assert f"no write permission in {read_only}" in line


# finetune, single task and multitask

def test_finetune_keeps_user_files(tiny_model_dir, toy_files, tmp_path, capsys, monkeypatch):
    project = tmp_path / "proj2"
    project.mkdir()
    (project / "config.json").write_text('{"mine": true}')
    (project / "vocab.txt").write_text("mine\n")
    (project / "notes.txt").write_text("notes\n")
    only_notes = tmp_path / "only-notes"
    only_notes.mkdir()
    (only_notes / "important.txt").write_text("keep")
    forbid(monkeypatch, "minbert.cli.finetune.load_encoder")
    for folder, named in ((project, "notes.txt"), (only_notes, "important.txt")):
        before = snapshot(folder)
        line = run_error(finetune_args(tiny_model_dir, toy_files, folder), capsys)
        assert f"the folder contains {named}, which minbert does not write in a checkpoint folder" in line
        assert snapshot(folder) == before


def test_finetune_replaces_earlier_checkpoint_whole(tiny_model_dir, toy_files, tmp_path):
    output = copy_model(tiny_model_dir, tmp_path / "run")
    (output / "modules.json").write_text("[]")
    assert main(finetune_args(tiny_model_dir, toy_files, output)) == 0
    assert sorted(path.name for path in output.iterdir()) == ["config.json", "metrics.json", "model.safetensors",
                                                              "tokenizer_config.json", "vocab.txt"]
    assert load_classifier(output)[2].label_names == ("0", "1")
    assert json.loads((output / "metrics.json").read_text())["best_epoch"] == 1


def test_finetune_output_holding_data_rejected(tiny_model_dir, toy_files, capsys, monkeypatch):
    forbid(monkeypatch, "minbert.cli.finetune.load_encoder")
    line = run_error(finetune_args(tiny_model_dir, toy_files, toy_files[0].parent), capsys)
    assert "contains a data file" in line


def test_multitask_keeps_user_files(tiny_model_dir, tmp_path, capsys, monkeypatch):
    data = write_toy_data_dir(tmp_path)
    run = tmp_path / "run"
    (run / "best").mkdir(parents=True)
    (run / "best" / "thesis.txt").write_text("precious")
    forbid(monkeypatch, "minbert.cli.multitask.load_encoder")
    line = run_error(multitask_args(tiny_model_dir, data, run), capsys)
    assert "contains best/thesis.txt, which minbert does not write in a multitask run folder" in line

    shutil.rmtree(run / "best")
    (run / "config.json").write_text("{}")
    line = run_error(multitask_args(tiny_model_dir, data, run), capsys)
    assert "contains config.json" in line
    line = run_error(multitask_args(tiny_model_dir, data, tmp_path), capsys)
    assert "is the data folder" in line


def test_multitask_rejects_model_as_best(tiny_model_dir, tmp_path, capsys, monkeypatch):
    (tmp_path / "data").mkdir()
    data = write_toy_data_dir(tmp_path / "data")
    run = tmp_path / "run"
    model = copy_model(tiny_model_dir, run / "best")
    forbid(monkeypatch, "minbert.cli.multitask.load_encoder")
    line = run_error(multitask_args(model, data, run), capsys)
    assert "contains the --model folder" in line


# tokenizer train

def test_bpe_output_is_training_file(text_file, capsys, monkeypatch):
    forbid(monkeypatch, "minbert.cli.tokenizer.BPETokenizer.train")
    line = run_error(tokenizer_args("bpe", text_file, text_file), capsys)
    assert f"--output {text_file} is the training file" in line
    assert text_file.read_text() == TRAINING_TEXT


def test_bpe_side_file_is_training_file(tmp_path, capsys, monkeypatch):
    training = tmp_path / "tokenizer.json"
    training.write_text(TRAINING_TEXT)
    forbid(monkeypatch, "minbert.cli.tokenizer.BPETokenizer.train")
    line = run_error(tokenizer_args("bpe", tmp_path / "x.json", training), capsys)
    assert "written next to --output, is the training file" in line
    assert training.read_text() == TRAINING_TEXT


def test_bpe_output_links_to_training_file(text_file, tmp_path, capsys, monkeypatch):
    (tmp_path / "hard.json").hardlink_to(text_file)
    (tmp_path / "soft.json").symlink_to(text_file)
    forbid(monkeypatch, "minbert.cli.tokenizer.BPETokenizer.train")
    for name in ("hard.json", "soft.json"):
        line = run_error(tokenizer_args("bpe", tmp_path / name, text_file), capsys)
        assert "is the training file" in line
    assert text_file.read_text() == TRAINING_TEXT


def test_bpe_into_model_folder_rejected(tiny_model_dir, text_file, tmp_path, capsys, monkeypatch):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    before = snapshot(model)
    forbid(monkeypatch, "minbert.cli.tokenizer.BPETokenizer.train")
    line = run_error(tokenizer_args("bpe", model / "bpe.json", text_file), capsys)
    assert "contains a model (config.json)" in line
    assert snapshot(model) == before


def test_bpe_warns_before_replacing_tokenizer_json(text_file, tmp_path, capsys, caplog):
    (tmp_path / "tokenizer.json").write_text("{}")
    with caplog.at_level(logging.WARNING, logger="minbert.cli.tokenizer"):
        assert main(tokenizer_args("bpe", tmp_path / "bpe.json", text_file)) == 0
    assert "tokenizer.json exists and will be replaced" in caplog.text
    assert json.loads((tmp_path / "tokenizer.json").read_text())["model"]["type"] == "BPE"


def test_wordpiece_into_model_folder_rejected(tiny_model_dir, text_file, tmp_path, capsys, monkeypatch):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    before = snapshot(model)
    forbid(monkeypatch, "minbert.cli.tokenizer.WordPieceTokenizer.train")
    line = run_error(tokenizer_args("wordpiece", model, text_file), capsys)
    assert "the folder contains config.json, model.safetensors" in line
    assert snapshot(model) == before


def test_wordpiece_output_file_fails_first(text_file, capsys, monkeypatch):
    forbid(monkeypatch, "minbert.cli.tokenizer.WordPieceTokenizer.train")
    line = run_error(tokenizer_args("wordpiece", text_file, text_file), capsys)
    assert "is the training file" in line
    other = text_file.with_name("other.txt")
    other.write_text("mine")
    line = run_error(tokenizer_args("wordpiece", other, text_file), capsys)
    assert "exists and is not a folder" in line
    assert other.read_text() == "mine"


def test_wordpiece_training_file_inside_output(text_file, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "wp"
    folder.mkdir()
    vocab = folder / "vocab.txt"
    vocab.write_text(TRAINING_TEXT)
    forbid(monkeypatch, "minbert.cli.tokenizer.WordPieceTokenizer.train")
    line = run_error(tokenizer_args("wordpiece", folder, vocab), capsys)
    assert "contains the training file" in line
    assert vocab.read_text() == TRAINING_TEXT


def test_wordpiece_rewrites_earlier_output(text_file, tmp_path):
    folder = tmp_path / "wp"
    assert main(tokenizer_args("wordpiece", folder, text_file)) == 0
    assert main(tokenizer_args("wordpiece", folder, text_file)) == 0
    assert sorted(path.name for path in folder.iterdir()) == ["tokenizer_config.json", "vocab.txt"]


# predict and embed

def test_predict_into_checkpoint_rejected(tiny_model_dir, toy_files, tmp_path, capsys, monkeypatch):
    checkpoint = copy_model(tiny_model_dir, tmp_path / "checkpoint")
    before = snapshot(checkpoint)
    forbid(monkeypatch, "minbert.cli.predict.load_classifier")
    line = run_error(["predict", "--checkpoint", str(checkpoint), "--input", str(toy_files[1]),
                      "--output", str(checkpoint / "config.json")], capsys)
    assert "is config.json of the --checkpoint folder, which this command reads" in line
    assert snapshot(checkpoint) == before


def test_embed_into_model_rejected(tiny_model_dir, text_file, tmp_path, capsys, monkeypatch):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    (tmp_path / "vocab-link.txt").hardlink_to(model / "vocab.txt")
    before = snapshot(model)
    forbid(monkeypatch, "minbert.cli.embed.load_sentence_encoder")
    for output in (model / "vocab.txt", tmp_path / "vocab-link.txt"):
        line = run_error(["embed", str(text_file), "--model", str(model), "--output", str(output)], capsys)
        assert "is vocab.txt of the --model folder" in line
    assert snapshot(model) == before


@pytest.mark.parametrize("command", ["embed", "predict", "bpe", "wordpiece", "finetune", "sbert"])
def test_empty_output_rejected(command, tiny_model_dir, toy_files, text_file, sts_data_dir, capsys):
    argv = {
        "embed": ["embed", str(text_file), "--model", str(tiny_model_dir), "--output", ""],
        "predict": ["predict", "--checkpoint", str(tiny_model_dir), "--input", str(toy_files[1]), "--output", ""],
        "bpe": tokenizer_args("bpe", "", text_file),
        "wordpiece": tokenizer_args("wordpiece", "", text_file),
        "finetune": finetune_args(tiny_model_dir, toy_files, ""),
        "sbert": sbert_args(tiny_model_dir, sts_data_dir, ""),
    }[command]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    error = capsys.readouterr().err

    assert exit_info.value.code == 2
    assert error.count("\n") == 1
    assert "argument --output: is empty (expected a path)" in error
    assert not text_file.with_suffix(".npy").exists()


def test_finetune_output_inside_model_rejected(tiny_model_dir, toy_files, tmp_path, capsys, monkeypatch):
    # 1_Pooling/ holds only a config.json, a name minbert writes, so only the inside-the-input rule stops this.
    model = copy_model(tiny_model_dir, tmp_path / "model")
    (model / "1_Pooling").mkdir()
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}\n')
    before = snapshot(model)
    forbid(monkeypatch, "minbert.cli.finetune.load_encoder")

    argv = finetune_args(model, toy_files, model / "1_Pooling")
    line = run_error(argv, capsys)

    assert "is inside the --model folder" in line
    assert snapshot(model) == before


def test_sbert_output_inside_model_rejected(tiny_model_dir, sts_data_dir, tmp_path, capsys, monkeypatch):
    model = copy_model(tiny_model_dir, tmp_path / "model")
    (model / "2_Normalize").mkdir()
    before = snapshot(model)
    forbid(monkeypatch, "minbert.cli.sbert.load_model")

    line = run_error(sbert_args(model, sts_data_dir, model / "2_Normalize"), capsys)

    assert "is inside the --model folder" in line
    assert snapshot(model) == before


def test_current_folder_as_output_rejected(tiny_model_dir, toy_files, tmp_path, capsys, monkeypatch):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    forbid(monkeypatch, "minbert.cli.finetune.load_encoder")

    line = run_error(finetune_args(tiny_model_dir, toy_files, "."), capsys)

    assert "is or contains the current folder" in line


def test_symbolic_link_loop_output_rejected(tiny_model_dir, text_file, tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)

    line = run_error(["embed", str(text_file), "--model", str(tiny_model_dir), "--output", str(loop)], capsys)

    assert line.endswith(f"--output {loop}: symbolic link loop (expected a path that resolves)")
