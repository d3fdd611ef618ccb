"""The minbert command line: end to end on a tiny BERT, and one-line errors for bad input."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file, save_file

from conftest import toy_sentiment_rows, write_tsv
from minbert.cli import finetune as finetune_cli
from minbert.cli.main import main
from minbert.cli.options import naming_flags
from minbert.errors import ConfigError, ParameterError
from minbert.training.checkpoint import load_classifier


@pytest.fixture
def toy_files(tmp_path):
    train = write_tsv(tmp_path / "train.csv", toy_sentiment_rows(64, seed=1))
    dev = write_tsv(tmp_path / "dev.csv", toy_sentiment_rows(24, seed=2))
    return train, dev


def finetune_args(tiny_model_dir, train, dev, output, *extra):
    return ["finetune", "--model", str(tiny_model_dir), "--train", str(train), "--dev", str(dev),
            "--num-labels", "2", "--output", str(output), "--no-progress", "--lr", "1e-3", *extra]


def run_error(argv, capsys) -> str:
    """Run the CLI expecting exit status 2; return its single stderr line."""
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_finetune_evaluate_predict(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    output = tmp_path / "run"
    assert main(finetune_args(tiny_model_dir, train, dev, output, "--epochs", "3")) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert len(metrics["history"]) == 3
    assert metrics["best_dev_accuracy"] == max(record["dev_accuracy"] for record in metrics["history"])
    capsys.readouterr()

    assert main(["evaluate", "--checkpoint", str(output), "--file", str(dev), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["accuracy"] == pytest.approx(metrics["best_dev_accuracy"])
    assert evaluated["examples"] == 24

    predictions = tmp_path / "predictions.csv"
    assert main(["predict", "--checkpoint", str(output), "--input", str(dev), "--output", str(predictions)]) == 0
    lines = predictions.read_text().splitlines()
    assert lines[0] == "line,label,label_name,p_0,p_1"
    assert len(lines) == 25
    first = lines[1].split(",")
    assert first[0] == "2"
    assert abs(float(first[3]) + float(first[4]) - 1.0) < 1e-5


def test_missing_train_file(tiny_model_dir, toy_files, tmp_path, capsys):
    _, dev = toy_files
    line = run_error(finetune_args(tiny_model_dir, tmp_path / "absent.csv", dev, tmp_path / "run"), capsys)
    assert "absent.csv" in line
    assert "not found" in line


def test_missing_column(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    line = run_error(finetune_args(tiny_model_dir, train, dev, tmp_path / "run", "--text-column", "review"), capsys)
    assert "train.csv" in line
    assert "'review'" in line


def test_empty_text(tiny_model_dir, toy_files, tmp_path, capsys):
    _, dev = toy_files
    train = write_tsv(tmp_path / "empty.csv", [("good movie", 1), ("   ", 0)])
    line = run_error(finetune_args(tiny_model_dir, train, dev, tmp_path / "run"), capsys)
    assert "empty.csv:3" in line
    assert "empty" in line


@pytest.mark.parametrize("label, expected", [("7", "7"), ("abc", "abc"), ("-1", "-1")])
def test_bad_label(tiny_model_dir, toy_files, tmp_path, capsys, label, expected):
    _, dev = toy_files
    train = tmp_path / "labels.csv"
    train.write_text(f"\tid\tsentence\tsentiment\n0\ta\tgood movie\t1\n1\tb\tbad movie\t{label}\n")
    line = run_error(finetune_args(tiny_model_dir, train, dev, tmp_path / "run"), capsys)
    assert "labels.csv:3" in line
    assert expected in line


def test_vocab_without_unk(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.safetensors"):
        (model / name).write_bytes((tiny_model_dir / name).read_bytes())
    vocab = (tiny_model_dir / "vocab.txt").read_text().replace("[UNK]\n", "")
    (model / "vocab.txt").write_text(vocab)
    line = run_error(finetune_args(model, train, dev, tmp_path / "run"), capsys)
    assert "vocab.txt" in line
    assert "[UNK]" in line


def test_checkpoint_of_wrong_shape(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    model = tmp_path / "model"
    model.mkdir()
    (model / "vocab.txt").write_bytes((tiny_model_dir / "vocab.txt").read_bytes())
    config = json.loads((tiny_model_dir / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "intermediate_size": 48}))
    (model / "model.safetensors").write_bytes((tiny_model_dir / "model.safetensors").read_bytes())
    line = run_error(finetune_args(model, train, dev, tmp_path / "run"), capsys)
    assert "model.safetensors" in line
    assert "wrong shape" in line
    assert "(64, 32)" in line


def test_max_length_above_model_limit(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    line = run_error(finetune_args(tiny_model_dir, train, dev, tmp_path / "run", "--max-length", "129"), capsys)
    assert "--max-length 129" in line
    assert "128" in line


@pytest.mark.parametrize("extra, expected", [
    (["--batch-size", "0"], "--batch-size 0 is invalid (expected 1 or more)"),
    (["--lr", "0"], "--lr 0.0 is invalid (expected a finite number greater than 0)"),
    (["--lr", "inf"], "--lr inf is invalid (expected a finite number greater than 0)"),
    (["--epochs", "0"], "--epochs 0 is invalid (expected 1 or more)"),
    (["--max-length", "2"], "--max-length 2 is invalid (expected 3 or more"),
    (["--warmup-ratio", "1"], "--warmup-ratio 1.0 is invalid (expected at least 0 and below 1)"),
    (["--dropout", "-0.5"], "--dropout -0.5 is invalid (expected at least 0 and below 1)"),
    (["--weight-decay", "nan"], "--weight-decay nan is invalid (expected a finite number of at least 0)"),
    (["--seed", "-1"], "--seed -1 is invalid (expected 0 to 2**63 - 1)"),
    (["--max-train-examples", "0"], "--max-train-examples 0 is invalid (expected 1 or more)"),
    (["--max-train-examples", "-3"], "--max-train-examples -3 is invalid (expected 1 or more)"),
])
def test_finetune_option_error_names_flag(tiny_model_dir, toy_files, tmp_path, capsys, extra, expected):
    train, dev = toy_files
    line = run_error(finetune_args(tiny_model_dir, train, dev, tmp_path / "run", *extra), capsys)
    assert line.startswith(f"minbert finetune: error: {expected}")
    field = extra[0].removeprefix("--").replace("-", "_")
    assert f"{field}=" not in line
    assert not (tmp_path / "run").exists()


def test_naming_flags_rewrites_listed_parameters_only():
    with pytest.raises(ConfigError) as caught:
        with naming_flags({"text": "--text"}):
            raise ParameterError("text", "two words", "is invalid (expected one word)")
    assert str(caught.value) == "--text 'two words' is invalid (expected one word)"
    assert not isinstance(caught.value, ParameterError)

    with pytest.raises(ParameterError, match=r"^max_grad_norm=-1.0 is invalid"):
        with naming_flags({"text": "--text"}):
            raise ParameterError("max_grad_norm", -1.0, "is invalid (expected 0 or more)")


def test_no_data_folder(monkeypatch, capsys):
    monkeypatch.delenv("MINBERT_DATA", raising=False)
    line = run_error(["finetune", "--task", "sst"], capsys)
    assert "--data-dir" in line
    assert "MINBERT_DATA" in line


@pytest.fixture
def recorded_encodings(monkeypatch):
    """Record the texts of each encode_texts call of `minbert finetune`, in call order (train first)."""
    calls = []

    def encode_and_record(tokenizer, texts, labels, **options):
        calls.append(list(texts))
        return encode_texts(tokenizer, texts, labels, **options)

    encode_texts = finetune_cli.encode_texts
    monkeypatch.setattr(finetune_cli, "encode_texts", encode_and_record)
    return calls


@pytest.mark.parametrize("task", ["sst", "cfimdb"])
def test_max_train_examples_for_named_task(task, tiny_model_dir, tmp_path, capsys, recorded_encodings):
    # Every train text is unique, so the check below distinguishes the first rows from any other choice.
    train_rows = [(f"{text} {index}", label) for index, (text, label) in enumerate(toy_sentiment_rows(40, seed=3))]
    write_tsv(tmp_path / f"ids-{task}-train.csv", train_rows)
    write_tsv(tmp_path / f"ids-{task}-dev.csv", toy_sentiment_rows(12, seed=4))
    output = tmp_path / "run"
    assert main(["finetune", "--task", task, "--data-dir", str(tmp_path), "--model", str(tiny_model_dir),
                 "--output", str(output), "--no-progress", "--epochs", "1", "--max-train-examples", "5"]) == 0

    train_texts, dev_texts = recorded_encodings
    assert train_texts == [text for text, _ in train_rows[:5]]
    assert len(dev_texts) == 12
    assert f"on {task} (first 5 of 40 train, 12 dev texts)" in capsys.readouterr().out
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["config"]["max_train_examples"] == 5
    assert len(metrics["history"]) == 1


def test_max_train_examples_above_file_size(tiny_model_dir, toy_files, tmp_path, capsys, recorded_encodings):
    train, dev = toy_files
    assert main(finetune_args(tiny_model_dir, train, dev, tmp_path / "run", "--epochs", "1",
                              "--max-train-examples", "1000")) == 0
    train_texts, _ = recorded_encodings
    assert len(train_texts) == 64
    assert "(64 train, 24 dev texts)" in capsys.readouterr().out


def test_finetune_help_describes_max_train_examples(capsys):
    with pytest.raises(SystemExit):
        main(["finetune", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--max-train-examples N train on the first N rows of the train file, in file order" in help_text
    assert "With --task multitask: N examples per task, drawn once with --seed" in help_text


@pytest.mark.parametrize("command, files", [
    (["finetune"], ["ids-sst-train.csv", "ids-cfimdb-dev.csv", "quora-dev.csv", "sts-train.csv"]),
    (["evaluate"], ["ids-sst-dev.csv", "ids-cfimdb-dev.csv", "sts-dev.csv"]),
    (["sbert", "train"], ["sts-dev.csv", "sts-train.csv", "quora-dev.csv"]),
])
def test_data_dir_help_names_files_read(command, files, capsys):
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    help_text = capsys.readouterr().out
    option_section = help_text.split("\n  --data-dir DIR", 1)[1].split("\n  -", 1)[0]
    # argparse may wrap a line after a hyphen inside a file name, so join the lines and undo those breaks.
    data_dir_help = " ".join(option_section.split()).replace("- ", "-")
    for name in files:
        assert name in data_dir_help
    if command != ["finetune"]:
        assert "ids-sst-train.csv" not in data_dir_help


def test_evaluate_non_classifier_checkpoint(tiny_model_dir, toy_files, capsys):
    _, dev = toy_files
    line = run_error(["evaluate", "--checkpoint", str(tiny_model_dir), "--file", str(dev)], capsys)
    assert "not a minbert classifier checkpoint" in line


def test_evaluate_classifier_with_wrong_head(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    output = tmp_path / "run"
    assert main(finetune_args(tiny_model_dir, train, dev, output, "--epochs", "1")) == 0
    weights = load_file(output / "model.safetensors")
    weights["classifier.weight"] = weights["classifier.weight"][:, :5].contiguous()
    save_file(weights, output / "model.safetensors")
    capsys.readouterr()
    line = run_error(["evaluate", "--checkpoint", str(output), "--file", str(dev)], capsys)
    assert "classifier.weight has shape (2, 5)" in line


def test_error_exit_status_without_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "minbert.cli.main", "finetune", "--train", str(tmp_path / "nope.csv"),
         "--dev", str(tmp_path / "nope.csv"), "--num-labels", "2"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0
    assert "nope.csv" in result.stderr


def test_ctrl_c_leaves_last_checkpoint_loadable(tiny_model_dir, tmp_path):
    train = write_tsv(tmp_path / "train.csv", toy_sentiment_rows(2000, seed=1))
    dev = write_tsv(tmp_path / "dev.csv", toy_sentiment_rows(24, seed=2))
    output = tmp_path / "run"
    command = [sys.executable, "-m", "minbert.cli.main",
               *finetune_args(tiny_model_dir, train, dev, output, "--epochs", "1000", "--lr", "1e-5")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    try:
        deadline = time.monotonic() + 120
        while not (output / "model.safetensors").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert (output / "model.safetensors").exists(), "no checkpoint written within 120 s"
        time.sleep(1.0)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in stderr
    model, _, info = load_classifier(output)
    assert info.label_names == ("0", "1")
    assert not list(output.glob(".*.tmp"))


def test_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["finetune", "--epochs", "1.5"])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert "--epochs: invalid int value: '1.5'" in lines[0]


def test_output_that_is_a_file_fails_before_training(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    existing_file = tmp_path / "existing_file.txt"
    existing_file.write_text("keep me")
    line = run_error(finetune_args(tiny_model_dir, train, dev, existing_file), capsys)
    assert "exists and is not a folder" in line
    assert existing_file.read_text() == "keep me"


def test_output_into_model_folder_rejected(tiny_model_dir, toy_files, capsys):
    train, dev = toy_files
    line = run_error(finetune_args(tiny_model_dir, train, dev, tiny_model_dir), capsys)
    assert "is the --model folder" in line


def test_diverging_loss_stops_with_one_line(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    line = run_error(finetune_args(tiny_model_dir, train, dev, tmp_path / "run", "--lr", "1e30",
                                   "--epochs", "2"), capsys)
    assert "training diverged" in line
    assert "lr=1e+30" in line


def test_vocab_larger_than_model_rejected(tiny_model_dir, toy_files, tmp_path, capsys):
    train, dev = toy_files
    model = tmp_path / "model"
    model.mkdir()
    for name in ("config.json", "model.safetensors"):
        (model / name).write_bytes((tiny_model_dir / name).read_bytes())
    (model / "vocab.txt").write_text((tiny_model_dir / "vocab.txt").read_text() + "extra\n")
    line = run_error(finetune_args(model, train, dev, tmp_path / "run"), capsys)
    assert "vocab_size=22" in line
    assert "23 tokens" in line


@pytest.fixture
def trained_checkpoint(tiny_model_dir, toy_files, tmp_path_factory):
    train, dev = toy_files
    output = tmp_path_factory.mktemp("checkpoint")
    assert main(finetune_args(tiny_model_dir, train, dev, output, "--epochs", "1")) == 0
    return output


def test_predict_and_evaluate_reject_batch_size(trained_checkpoint, toy_files, tmp_path, capsys):
    _, dev = toy_files
    capsys.readouterr()
    predict = ["predict", "--checkpoint", str(trained_checkpoint), "--input", str(dev),
               "--output", str(tmp_path / "predictions.csv"), "--batch-size", "0"]
    evaluate = ["evaluate", "--checkpoint", str(trained_checkpoint), "--file", str(dev), "--batch-size", "0"]

    assert run_error(predict, capsys) == "minbert predict: error: --batch-size 0 is invalid (expected 1 or more)"
    assert run_error(evaluate, capsys) == "minbert evaluate: error: --batch-size 0 is invalid (expected 1 or more)"
    assert not (tmp_path / "predictions.csv").exists()


def test_predict_refuses_device_and_input(trained_checkpoint, toy_files, capsys):
    _, dev = toy_files
    capsys.readouterr()
    line = run_error(["predict", "--checkpoint", str(trained_checkpoint), "--input", str(dev),
                      "--output", "/dev/null"], capsys)
    assert "is not a regular file" in line
    line = run_error(["predict", "--checkpoint", str(trained_checkpoint), "--input", str(dev),
                      "--output", str(dev)], capsys)
    assert "is the --input file" in line


def test_predict_writes_through_symlink(trained_checkpoint, toy_files, tmp_path):
    _, dev = toy_files
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(["predict", "--checkpoint", str(trained_checkpoint), "--input", str(dev),
                 "--output", str(link)]) == 0
    assert link.is_symlink()
    assert target.read_text().startswith("line,label")


def test_predict_warns_about_tokenless_text(trained_checkpoint, tmp_path, caplog):
    texts = write_tsv(tmp_path / "texts.csv", [("good fun", 0), ("\u200b", 0)])

    assert main(["predict", "--checkpoint", str(trained_checkpoint), "--input", str(texts),
                 "--output", str(tmp_path / "predictions.csv")]) == 0

    assert f"{texts} line 3: no token after normalisation" in caplog.text


def test_checkpoint_files_readable_by_others(trained_checkpoint):
    for path in trained_checkpoint.iterdir():
        assert path.stat().st_mode & 0o044 == 0o044, path.name
