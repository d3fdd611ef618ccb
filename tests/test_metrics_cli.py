"""The bleu, rouge and perplexity subcommands: output formats, numbers, and one-line errors for bad input."""

import io
import json
import subprocess
import sys

import pytest
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU

from minbert.cli.main import main
from minbert.lm import NGramConfig, NGramLM
from minbert.metrics.perplexity import perplexity

HYPOTHESES = ["The cat sat on the mat.", "Hello there, world!", "A quick brown fox jumps."]
REFERENCES = ["The cat is on the mat.", "Hello, world!", "The quick brown fox jumped."]
SECOND_REFERENCES = ["A cat sat on a mat.", "Hi there, world.", "A fast brown fox jumps."]


@pytest.fixture
def text_files(tmp_path):
    paths = {}
    for name, lines in [("hyp", HYPOTHESES), ("ref", REFERENCES), ("ref2", SECOND_REFERENCES)]:
        paths[name] = tmp_path / f"{name}.txt"
        paths[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    return paths


def run_ok(argv, capsys) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def run_error(argv, capsys) -> str:
    """Run the CLI expecting exit status 2, and return its single stderr line."""
    with pytest.raises(SystemExit) as raised:
        status = main(argv)
        raise SystemExit(status)
    assert raised.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_bleu_text_format(text_files, capsys):
    output = run_ok(["bleu", "--ref", str(text_files["ref"]), "--input", str(text_files["hyp"])], capsys)
    expected = BLEU().corpus_score(HYPOTHESES, [REFERENCES]).format(width=1).split(" = ", 1)[1]
    assert output == f"BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|order:4|version:minbert-0.1.0 = {expected}\n"


def test_bleu_json_with_two_references(text_files, capsys):
    argv = ["bleu", "-r", str(text_files["ref"]), str(text_files["ref2"]), "-i", str(text_files["hyp"]),
            "-lc", "-tok", "intl", "--json"]
    result = json.loads(run_ok(argv, capsys))
    theirs = BLEU(lowercase=True, tokenize="intl").corpus_score(HYPOTHESES, [REFERENCES, SECOND_REFERENCES])
    assert result["score"] == pytest.approx(theirs.score, abs=1e-9)
    assert result["nrefs"] == "2"
    assert result["tok"] == "intl"
    assert result["case"] == "lc"


def test_bleu_reads_standard_input(text_files, capsys, monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(text_files["hyp"].read_bytes()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    result = json.loads(run_ok(["bleu", "--ref", str(text_files["ref"]), "--json"], capsys))
    assert result["score"] == pytest.approx(BLEU().corpus_score(HYPOTHESES, [REFERENCES]).score, abs=1e-9)


def test_bleu_shell_redirect(text_files):
    with open(text_files["hyp"], "rb") as stdin:
        completed = subprocess.run([sys.executable, "-m", "minbert.cli.main", "bleu", "--ref", str(text_files["ref"])],
                                   stdin=stdin, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("BLEU|nrefs:1|")


def test_rouge_csv_format(text_files, capsys):
    output = run_ok(["rouge", "--ref", str(text_files["ref"]), "--input", str(text_files["hyp"]),
                     "--use-stemmer"], capsys)
    lines = output.splitlines()
    assert lines[0] == "score_type,low,mid,high"
    assert [line.split(",")[0] for line in lines[1:]] == [
        f"{rouge_type}-{letter}" for rouge_type in ("rouge1", "rouge2", "rougeL") for letter in "RPF"]

    # The middle column is the mean over pairs of rouge-score's values, to its 6 printed decimals.
    scorer = rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)
    mean_f = sum(scorer.score(reference, hypothesis)["rouge1"].fmeasure
                 for hypothesis, reference in zip(HYPOTHESES, REFERENCES)) / len(HYPOTHESES)
    low, mid, high = map(float, lines[3].split(",")[1:])
    assert mid == pytest.approx(mean_f, abs=5e-7)
    assert low <= mid <= high


def test_rouge_json(text_files, capsys):
    argv = ["rouge", "-r", str(text_files["ref"]), "-i", str(text_files["hyp"]), "--rouge-types", "rougeLsum",
            "--json", "--bootstrap-samples", "20"]
    result = json.loads(run_ok(argv, capsys))
    assert list(result["scores"]) == ["rougeLsum"]
    assert set(result["scores"]["rougeLsum"]) == {"precision", "recall", "fmeasure"}
    assert result["num_pairs"] == 3
    assert result["bootstrap_samples"] == 20


def test_perplexity_matches_library(tmp_path, capsys):
    train = [["the", "cat", "sat"], ["the", "dog", "sat"], ["a", "cat", "ran"]]
    evaluation = [["the", "cat", "ran"], ["a", "bird", "sat"]]
    (tmp_path / "train.txt").write_text("\n".join(map(" ".join, train)) + "\n\n", encoding="utf-8")
    (tmp_path / "eval.txt").write_text("\n".join(map(" ".join, evaluation)) + "\n", encoding="utf-8")
    argv = ["perplexity", "--order", "2", "--train", str(tmp_path / "train.txt"), "--eval", str(tmp_path / "eval.txt"),
            "--json"]
    result = json.loads(run_ok(argv, capsys))

    model = NGramLM.train(train, config=NGramConfig(order=2))
    assert result["perplexity"] == pytest.approx(perplexity(model.log_probs(evaluation)).perplexity, rel=1e-12)
    assert result["tokens"] == 8
    assert result["unknown_words"] == 1


def test_perplexity_text_format(tmp_path, capsys):
    (tmp_path / "text.txt").write_text("a b\nb a\n", encoding="utf-8")
    path = str(tmp_path / "text.txt")
    output = run_ok(["perplexity", "--order", "1", "--train", path, "--eval", path, "--smoothing", "add-k"], capsys)
    assert output.startswith(f"{path}: perplexity ")
    assert "6 tokens (4 words and 2 ends of sentence), 0.00% of words unknown" in output


def test_line_count_mismatch(text_files, tmp_path, capsys):
    short = tmp_path / "short.txt"
    short.write_text("one line\n", encoding="utf-8")
    line = run_error(["bleu", "--ref", str(text_files["ref"]), str(short), "-i", str(text_files["hyp"])], capsys)
    assert f"{short} has 1 lines but {text_files['hyp']} has 3" in line
    line = run_error(["rouge", "--ref", str(short), "-i", str(text_files["hyp"])], capsys)
    assert "short.txt has 1 lines" in line


def test_file_not_utf8(text_files, tmp_path, capsys):
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("ok\ncaf\u00e9\nok\n".encode("latin-1"))
    line = run_error(["bleu", "--ref", str(latin1), "-i", str(text_files["hyp"])], capsys)
    assert f"{latin1}:2: invalid UTF-8" in line
    line = run_error(["rouge", "--ref", str(text_files["ref"]), "-i", str(latin1)], capsys)
    assert f"{latin1}:2: invalid UTF-8" in line


@pytest.mark.parametrize("extra, fragment", [
    (["--tokenize", "moses"], "'moses'"),
    (["--smooth-method", "laplace"], "'laplace'"),
    (["--max-ngram-order", "0"], "--max-ngram-order 0 is invalid (expected an integer of at least 1)"),
    (["--smooth-value", "0.5"], "--smooth-value 0.5 is invalid with smoothing method 'exp'"),
    (["--smooth-method", "floor", "--smooth-value", "-1"],
     "--smooth-value -1.0 is invalid (expected a finite number of"),
])
def test_bleu_invalid_option(text_files, capsys, extra, fragment):
    line = run_error(["bleu", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"]), *extra], capsys)
    assert line.startswith("minbert bleu: error:")
    assert fragment in line


def test_rouge_unknown_type(text_files, capsys):
    line = run_error(["rouge", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"]),
                      "--rouge-types", "rougeX"], capsys)
    assert "--rouge-types rougeX is not a ROUGE type (expected rouge1 to rouge9, rougeL or rougeLsum)" in line


@pytest.mark.parametrize("extra, fragment", [
    (["--confidence", "1.5"], "--confidence 1.5 is invalid (expected a number between 0 and 1)"),
    (["--bootstrap-samples", "0"], "--bootstrap-samples 0 is invalid (expected 1 or more)"),
])
def test_rouge_invalid_bootstrap_option(text_files, capsys, extra, fragment):
    line = run_error(["rouge", "--ref", str(text_files["ref"]), "-i", str(text_files["hyp"]), *extra], capsys)
    assert fragment in line


@pytest.mark.parametrize("extra, fragment", [
    (["--order", "0"], "--order 0 is invalid (expected an integer of at least 1)"),
    (["--discount", "2"], "--discount 2.0 is invalid (expected greater than 0 and at most 1)"),
    (["--smoothing", "add-k", "--k", "0"], "--k 0.0 is invalid (expected a number greater than 0)"),
    (["--min-count", "0"], "--min-count 0 is invalid (expected an integer of at least 1)"),
    (["--smoothing", "witten-bell"], "'witten-bell'"),
])
def test_perplexity_invalid_option(text_files, capsys, extra, fragment):
    line = run_error(["perplexity", "--train", str(text_files["ref"]), "--eval", str(text_files["hyp"]), *extra],
                     capsys)
    assert fragment in line


def test_missing_reference_file(text_files, tmp_path, capsys):
    line = run_error(["bleu", "--ref", str(tmp_path / "absent.txt"), "-i", str(text_files["hyp"])], capsys)
    assert "absent.txt" in line
