"""The multitask model: task sampling, per-task gradients, the Quora split, the CLI, on a tiny BERT."""

import json
import math
import random
from collections import Counter

import pytest
import torch

from minbert import BertModel
from minbert.cli.main import main
from minbert.data.multitask_data import TaskExample, load_task, parse_task_names
from minbert.data.pairs import read_scored_pairs
from minbert.data.splits import split_by_id
from minbert.errors import CheckpointError, ConfigError, OutputError
from minbert.model.pretrained import load_tokenizer
from minbert.training.multitask import (MultitaskConfig, MultitaskModel, dev_metric, predict, sample_tasks,
                                        task_loss, task_probabilities, train_multitask)
from minbert.training.multitask_batches import collate_examples, encode_examples, subsample
from minbert.training.checkpoint import load_classifier
from minbert.training.multitask_checkpoint import load_multitask, save_multitask

GOOD, BAD = ["good", "great", "fun"], ["bad", "awful", "dull"]


def toy_sentences(count, seed):
    """Single sentences: class 4 for positive words, class 0 for negative ones."""
    generator = random.Random(seed)
    examples = []
    for _ in range(count):
        positive = generator.random() < 0.5
        word = generator.choice(GOOD if positive else BAD)
        examples.append(TaskExample(first=f"the movie was {word} .", second=None, target=4.0 if positive else 0.0))
    return examples


def toy_pairs(count, seed, *, score):
    """Pairs of one-word sentences; ``score(same_side)`` gives the target."""
    generator = random.Random(seed)
    examples = []
    for _ in range(count):
        first, second = generator.choice(GOOD + BAD), generator.choice(GOOD + BAD)
        same_side = (first in GOOD) == (second in GOOD)
        examples.append(TaskExample(first=f"the plot was {first}", second=f"a movie was {second}",
                                    target=score(same_side, generator)))
    return examples


def toy_tasks(tokenizer, count, seed):
    raw = {
        "sst": toy_sentences(count, seed),
        "quora": toy_pairs(count, seed + 1, score=lambda same, _: 1.0 if same else 0.0),
        "sts": toy_pairs(count, seed + 2, score=lambda same, g: round((4.0 if same else 1.0) + g.random(), 1)),
    }
    return {name: encode_examples(tokenizer, examples, max_length=32) for name, examples in raw.items()}


def tiny_multitask(tiny_model_dir, tasks=("sst", "quora", "sts")):
    torch.manual_seed(0)
    return MultitaskModel(BertModel.from_pretrained(tiny_model_dir), tasks=tasks)


# Sampling.

def test_sqrt_probabilities_exact():
    probabilities = task_probabilities({"sst": 100, "quora": 400, "sts": 900})
    assert probabilities["sst"] == pytest.approx(10 / 60)
    assert probabilities["quora"] == pytest.approx(20 / 60)
    assert probabilities["sts"] == pytest.approx(30 / 60)


def test_sampler_follows_sqrt_distribution():
    sizes = {"sst": 8544, "quora": 18191, "sts": 6040}
    steps = 40_000
    counts = Counter(sample_tasks(sizes, steps=steps, seed=7, epoch=1))
    for name, probability in task_probabilities(sizes).items():
        # Binomial standard deviation is below 0.0025 here; 0.01 is four of them.
        assert abs(counts[name] / steps - probability) < 0.01, name


def test_sampler_deterministic_by_seed():
    sizes = {"sst": 50, "quora": 200, "sts": 30}
    first = sample_tasks(sizes, steps=300, seed=5, epoch=1)
    assert first == sample_tasks(sizes, steps=300, seed=5, epoch=1)
    assert first != sample_tasks(sizes, steps=300, seed=6, epoch=1)
    assert first != sample_tasks(sizes, steps=300, seed=5, epoch=2)


# Model, gradients and training.

@pytest.mark.parametrize("task", ["sst", "quora", "sts"])
def test_head_gradient_only_from_its_task(tiny_model_dir, task):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = tiny_multitask(tiny_model_dir)
    encoded = toy_tasks(tokenizer, 8, seed=1)[task]
    batch = collate_examples(encoded, list(range(8)), pad_id=tokenizer.pad_token_id)
    loss = task_loss(task, model(task, batch.input_ids, batch.attention_mask, batch.token_type_ids), batch.targets)
    loss.backward()
    for name, head in model.heads.items():
        if name == task:
            assert head.weight.grad is not None
            assert head.weight.grad.abs().sum() > 0
        else:
            assert head.weight.grad is None, name
            assert head.bias.grad is None, name
    assert model.encoder.embeddings.word.weight.grad.abs().sum() > 0


def test_pair_token_types_reach_encoder(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    encoded = encode_examples(tokenizer, [TaskExample("the plot", "a movie", 1.0)], max_length=32)
    assert encoded.ids[0] == tokenizer.encode("the plot", "a movie").ids
    assert encoded.token_type_ids[0] == [0, 0, 0, 0, 1, 1, 1]
    batch = collate_examples(encoded, [0], pad_id=tokenizer.pad_token_id)
    assert batch.token_type_ids.tolist() == [[0, 0, 0, 0, 1, 1, 1]]


def test_joint_epoch_changes_encoder_and_heads(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = tiny_multitask(tiny_model_dir)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    config = MultitaskConfig(epochs=1, lr=1e-3, batch_size=8, seed=3)
    train = toy_tasks(tokenizer, 24, seed=1)
    result = train_multitask(model, train, toy_tasks(tokenizer, 12, seed=9), config,
                             pad_id=tokenizer.pad_token_id, progress=False)
    record = result.history[0]
    assert sum(record.steps.values()) == 9                      # 3 tasks x ceil(24 / 8)
    assert not torch.equal(model.encoder.embeddings.word.weight, before["encoder.embeddings.word.weight"])
    for name in ("sst", "quora", "sts"):
        changed = not torch.equal(model.heads[name].weight, before[f"heads.{name}.weight"])
        assert changed == (record.steps[name] > 0), name
    assert record.dev_mean == pytest.approx(sum(record.dev.values()) / 3)


def test_same_seed_gives_same_multitask_run(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    runs = []
    for _ in range(2):
        model = tiny_multitask(tiny_model_dir)
        result = train_multitask(model, toy_tasks(tokenizer, 16, seed=1), toy_tasks(tokenizer, 8, seed=9),
                                 MultitaskConfig(epochs=2, lr=1e-3, batch_size=8, seed=4),
                                 pad_id=tokenizer.pad_token_id, progress=False)
        runs.append((model, result))
    assert runs[0][1].history[-1].train_loss == runs[1][1].history[-1].train_loss
    for first, second in zip(runs[0][0].parameters(), runs[1][0].parameters()):
        assert torch.equal(first, second)


def test_multitask_learns_toy_tasks(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = tiny_multitask(tiny_model_dir)
    dev = toy_tasks(tokenizer, 24, seed=9)
    result = train_multitask(model, toy_tasks(tokenizer, 96, seed=1), dev,
                             MultitaskConfig(epochs=6, lr=3e-3, batch_size=8, seed=3),
                             pad_id=tokenizer.pad_token_id, progress=False)
    # Quora and STS targets depend on both texts of a pair (same polarity or not), so the pair must be read whole.
    best = result.history[result.best_epoch - 1]
    assert best.dev["sst"] == 1.0
    assert best.dev["quora"] > 0.9
    assert best.dev["sts"] > 0.9


def test_similarity_predictions_in_range(tiny_model_dir):
    tokenizer = load_tokenizer(tiny_model_dir)
    model = tiny_multitask(tiny_model_dir)
    with torch.no_grad():
        model.heads["sts"].bias.fill_(50.0)
    predictions = predict(model, "sts", toy_tasks(tokenizer, 6, seed=2)["sts"], pad_id=tokenizer.pad_token_id)
    assert predictions.shape == (6,)
    assert torch.allclose(predictions, torch.full((6,), 5.0))


def test_checkpoint_replaces_previous_folder(tiny_model_dir, tmp_path):
    tokenizer = load_tokenizer(tiny_model_dir)
    folder = tmp_path / "best"
    first = tiny_multitask(tiny_model_dir, tasks=("sst", "sts"))
    save_multitask(folder, first, tokenizer, max_length=32)
    second = tiny_multitask(tiny_model_dir, tasks=("sst", "sts"))
    with torch.no_grad():
        second.heads["sts"].bias.fill_(0.5)
        second.encoder.embeddings.word.weight.mul_(2.0)
    save_multitask(folder, second, tokenizer, max_length=32)

    loaded, _, max_length = load_multitask(folder)
    assert max_length == 32
    assert loaded.tasks == ("sst", "sts")
    assert loaded.heads["sts"].bias.item() == 0.5
    assert torch.equal(loaded.encoder.embeddings.word.weight, second.encoder.embeddings.word.weight)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best"]


def test_checkpoint_never_replaces_other_folder(tiny_model_dir, tmp_path):
    folder = tmp_path / "best"
    folder.mkdir()
    (folder / "thesis.txt").write_text("precious")
    model = tiny_multitask(tiny_model_dir, tasks=("sst", "sts"))

    with pytest.raises(OutputError, match="contains thesis.txt, which minbert does not write"):
        save_multitask(folder, model, load_tokenizer(tiny_model_dir), max_length=32)
    assert (folder / "thesis.txt").read_text() == "precious"


def test_classifier_loader_names_multitask_checkpoint(tiny_model_dir, tmp_path):
    save_multitask(tmp_path / "best", tiny_multitask(tiny_model_dir, tasks=("sst", "sts")),
                   load_tokenizer(tiny_model_dir), max_length=32)
    with pytest.raises(CheckpointError, match="a multitask checkpoint"):
        load_classifier(tmp_path / "best")


# Data.

def test_quora_split_is_90_10_and_disjoint(data_dir):
    pairs = read_scored_pairs(data_dir / "quora-dev.csv", score_column="is_duplicate", id_column="id",
                              skip_missing_scores=True)
    train_pairs, dev_pairs = split_by_id(pairs, lambda pair: pair.id)
    assert len(pairs) == 20212                               # 20,214 rows less the two without a label
    assert 0.09 < len(dev_pairs) / len(pairs) < 0.11
    assert not {pair.id for pair in train_pairs} & {pair.id for pair in dev_pairs}

    task = load_task("quora", data_dir)
    assert len(task.train) == len(train_pairs)
    assert len(task.dev) == len(dev_pairs)
    assert [(example.first, example.second) for example in task.dev] == [(p.first, p.second) for p in dev_pairs]
    assert {example.target for example in task.train} == {0.0, 1.0}


def test_shared_sts_and_sst_sizes(data_dir):
    assert (len(load_task("sts", data_dir).train), len(load_task("sts", data_dir).dev)) == (6040, 863)
    sst = load_task("sst", data_dir)
    assert (len(sst.train), len(sst.dev)) == (8544, 1101)
    assert sst.train[0].second is None


def test_subsample_seeded_and_in_order():
    examples = [TaskExample(first=f"text {index}", second=None, target=float(index)) for index in range(50)]
    chosen = subsample(examples, 10, seed=3)
    assert chosen == subsample(examples, 10, seed=3)
    assert chosen != subsample(examples, 10, seed=4)
    positions = [int(example.target) for example in chosen]
    assert len(set(positions)) == 10
    assert positions == sorted(positions)
    assert subsample(examples, 80, seed=3) == examples


@pytest.mark.parametrize("text, message", [("sst,foo", "unknown task 'foo'"), ("sst,,sts", "empty task name"),
                                           ("sts,sts", "listed twice")])
def test_parse_task_names_rejects(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_task_names(text)


# Command line.

def write_toy_data_dir(folder):
    """The five shared file names, in the shared layout, filled with toy examples."""
    def write(name, header, rows):
        lines = ["\tid\t" + "\t".join(header)]
        lines += [f"{index}\tid{name}{index}\t" + "\t".join(map(str, row)) for index, row in enumerate(rows)]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")

    def sentences(count, seed):
        return [(example.first, int(example.target)) for example in toy_sentences(count, seed)]

    def pairs(count, seed, score):
        return [(e.first, e.second, e.target) for e in toy_pairs(count, seed, score=score)]

    duplicate = lambda same, _: 1.0 if same else 0.0                                  # noqa: E731
    similarity = lambda same, g: round((4.0 if same else 1.0) + g.random(), 1)       # noqa: E731
    write("ids-sst-train.csv", ("sentence", "sentiment"), sentences(32, 1))
    write("ids-sst-dev.csv", ("sentence", "sentiment"), sentences(12, 2))
    write("quora-dev.csv", ("sentence1", "sentence2", "is_duplicate"), pairs(80, 3, duplicate))
    write("sts-train.csv", ("sentence1", "sentence2", "similarity"), pairs(32, 4, similarity))
    write("sts-dev.csv", ("sentence1", "sentence2", "similarity"), pairs(12, 5, similarity))
    return folder


def multitask_args(tiny_model_dir, data, output, *extra):
    return ["finetune", "--task", "multitask", "--model", str(tiny_model_dir), "--data-dir", str(data),
            "--output", str(output), "--no-progress", "--lr", "1e-3", "--batch-size", "8", *extra]


def test_cli_writes_metrics_and_best_checkpoint(tiny_model_dir, tmp_path, capsys):
    data = write_toy_data_dir(tmp_path)
    output = tmp_path / "run"
    assert main(multitask_args(tiny_model_dir, data, output, "--epochs", "2")) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["tasks"] == ["sst", "quora", "sts"]
    assert len(metrics["history"]) == 2
    assert set(metrics["best_dev"]) == {"sst", "quora", "sts"}
    assert metrics["best_dev_mean"] == pytest.approx(sum(metrics["best_dev"].values()) / 3)
    assert metrics["best_dev_mean"] == max(record["dev_mean"] for record in metrics["history"])
    assert sum(metrics["train_examples"].values()) + sum(metrics["dev_examples"].values()) == 32 + 12 + 80 + 44
    assert "mean" in capsys.readouterr().out

    # The saved checkpoint scores the dev sets as the best epoch did.
    model, tokenizer, max_length = load_multitask(output / "best")
    assert model.tasks == ("sst", "quora", "sts")
    for name in ("sst", "quora", "sts"):
        dev = encode_examples(tokenizer, load_task(name, data).dev, max_length=max_length)
        assert dev_metric(model, name, dev, pad_id=tokenizer.pad_token_id) == pytest.approx(
            metrics["best_dev"][name], abs=1e-6)
    assert not [path.name for path in output.iterdir() if path.name.startswith(".")]


def test_cli_single_task_same_code(tiny_model_dir, tmp_path):
    data = write_toy_data_dir(tmp_path)
    output = tmp_path / "run"
    assert main(multitask_args(tiny_model_dir, data, output, "--epochs", "1", "--tasks", "sts",
                               "--max-train-examples", "20")) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert list(metrics["best_dev"]) == ["sts"]
    assert metrics["train_examples"] == {"sts": 20}
    assert metrics["best_dev_mean"] == metrics["best_dev"]["sts"]
    assert not math.isnan(metrics["best_dev_mean"])


def run_error(argv, capsys) -> str:
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize("extra, message", [
    (["--tasks", "sst,paraphrase"], "unknown task 'paraphrase'"),
    (["--max-train-examples", "0"], "--max-train-examples 0 is invalid (expected 1 or more)"),
    (["--lr", "0"], "--lr 0.0 is invalid (expected a finite number greater than 0)"),
    (["--batch-size", "0"], "--batch-size 0 is invalid (expected 1 or more)"),
    (["--mode", "last-linear-layer"], "--mode last-linear-layer is not supported"),
])
def test_cli_bad_multitask_option(tiny_model_dir, tmp_path, capsys, extra, message):
    data = write_toy_data_dir(tmp_path)
    line = run_error(multitask_args(tiny_model_dir, data, tmp_path / "run", *extra), capsys)
    assert message in line


def test_cli_tasks_without_multitask(tiny_model_dir, tmp_path, capsys):
    line = run_error(["finetune", "--task", "sst", "--tasks", "sst", "--data-dir", str(tmp_path)], capsys)
    assert "only to --task multitask" in line


def test_cli_rejects_torchrun(tiny_model_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    data = write_toy_data_dir(tmp_path)
    line = run_error(multitask_args(tiny_model_dir, data, tmp_path / "run"), capsys)
    assert "torchrun started 2" in line
    assert not (tmp_path / "run").exists()
