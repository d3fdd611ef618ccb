"""Sentence-BERT losses against sentence-transformers, siamese training on a tiny BERT, saving and the CLI."""

import json
import random

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minbert.cli.main import main
from minbert.data.pairs import ScoredPair
from minbert.embeddings.encoder import SentenceEncoder
from minbert.errors import ConfigError, OutputError
from minbert.training.update import TrainingError
from minbert.training.sbert import SbertConfig, encode_pairs, save_encoder_atomic, train_sbert
from minbert.training.sbert_losses import (cosent_loss, cosine_similarity_loss, multiple_negatives_ranking_loss,
                                           sbert_loss)

st_losses = pytest.importorskip("sentence_transformers.sentence_transformer.losses")


def random_batch(size, width, seed, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    first = torch.randn(size, width, generator=generator, dtype=dtype)
    second = torch.randn(size, width, generator=generator, dtype=dtype)
    # Gold scores on the STS grid (0.0, 0.2, ..., 5.0), so ties occur as in the real data.
    scores = torch.randint(0, 26, (size,), generator=generator).to(dtype) / 5
    return first, second, scores


# Losses: sentence-transformers 6.3 computes each loss from embeddings without its model, so model=None.

@pytest.mark.parametrize("seed", range(5))
def test_cosine_loss_matches_sentence_transformers(seed):
    first, second, scores = random_batch(16, 24, seed)
    reference = st_losses.CosineSimilarityLoss(None).compute_loss_from_embeddings([first, second], scores / 5)
    ours = cosine_similarity_loss(first, second, scores, max_score=5.0)
    # The reference casts the labels to float32, so agreement is 1e-7, not float64 rounding.
    assert ours.item() == pytest.approx(reference.item(), abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_cosent_loss_matches_sentence_transformers(seed):
    first, second, scores = random_batch(16, 24, seed)
    reference = st_losses.CoSENTLoss(None, scale=20.0).compute_loss_from_embeddings([first, second], scores)
    assert cosent_loss(first, second, scores).item() == pytest.approx(reference.item(), abs=1e-6)


@pytest.mark.parametrize("seed", range(5))
def test_mnrl_loss_matches_sentence_transformers(seed):
    anchors, positives, _ = random_batch(16, 24, seed)
    reference = st_losses.MultipleNegativesRankingLoss(None, scale=20.0).compute_loss_from_embeddings(
        [anchors, positives], None)
    assert multiple_negatives_ranking_loss(anchors, positives).item() == pytest.approx(reference.item(), abs=1e-6)


def test_losses_match_in_float32():
    first, second, scores = random_batch(32, 384, seed=7, dtype=torch.float32)
    reference = st_losses.CoSENTLoss(None).compute_loss_from_embeddings([first, second], scores)
    assert cosent_loss(first, second, scores).item() == pytest.approx(reference.item(), rel=1e-5)
    reference = st_losses.MultipleNegativesRankingLoss(None).compute_loss_from_embeddings([first, second], None)
    assert multiple_negatives_ranking_loss(first, second).item() == pytest.approx(reference.item(), rel=1e-5)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(1, 12), width=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_losses_match_reference_on_any_batch(size, width, seed):
    first, second, scores = random_batch(size, width, seed)
    cosent_reference = st_losses.CoSENTLoss(None).compute_loss_from_embeddings([first, second], scores)
    assert cosent_loss(first, second, scores).item() == pytest.approx(cosent_reference.item(), abs=1e-6)
    mnrl_reference = st_losses.MultipleNegativesRankingLoss(None).compute_loss_from_embeddings([first, second], None)
    assert multiple_negatives_ranking_loss(first, second).item() == pytest.approx(mnrl_reference.item(), abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(2, 12), seed=st.integers(0, 2**16))
def test_losses_ignore_pair_order_and_vector_length(size, seed):
    first, second, scores = random_batch(size, 6, seed)
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed))
    stretch = torch.rand(size, 1, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64) + 0.5
    for loss in ("cosine", "cosent", "mnrl"):
        original = sbert_loss(loss, first, second, scores)
        reordered = sbert_loss(loss, first[order] * stretch, second[order], scores[order])
        assert reordered.item() == pytest.approx(original.item(), abs=1e-9), loss


def test_cosent_hand_worked_case():
    # Pair 0 (gold 5) has cosine 0 and pair 1 (gold 1) cosine 1: one misordered term, exp(20 * (1 - 0)).
    first = torch.tensor([[1.0, 0.0], [1.0, 0.0]], dtype=torch.float64)
    second = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    loss = cosent_loss(first, second, torch.tensor([5.0, 1.0], dtype=torch.float64))
    assert loss.item() == pytest.approx(torch.log1p(torch.exp(torch.tensor(20.0, dtype=torch.float64))).item())
    assert cosent_loss(first, second, torch.tensor([2.0, 2.0], dtype=torch.float64)).item() == 0.0


def test_cosine_loss_is_zero_at_gold_cosines():
    first = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    second = torch.tensor([[1.0, 0.0], [0.0, 3.0]])
    assert cosine_similarity_loss(first, second, torch.tensor([5.0, 0.0]), max_score=5.0).item() == 0.0


def test_scored_loss_without_scores_is_rejected():
    first, second, _ = random_batch(4, 3, seed=0)
    with pytest.raises(ValueError, match="needs the gold scores"):
        sbert_loss("cosent", first, second, None)


# Training on a tiny random BERT with toy pairs: both sides positive (or both negative) score high.

POSITIVE, NEGATIVE = ["good", "great", "fun"], ["bad", "awful", "dull"]


def toy_sentence(generator, words):
    return " ".join(["the", "movie", "was", generator.choice(words), generator.choice(words), "."])


def toy_pairs(count, seed):
    generator = random.Random(seed)
    pairs = []
    for line in range(count):
        first_words, second_words = generator.choice([POSITIVE, NEGATIVE]), generator.choice([POSITIVE, NEGATIVE])
        score = 5.0 if first_words is second_words else 1.0
        pairs.append(ScoredPair(first=toy_sentence(generator, first_words), second=toy_sentence(generator, second_words),
                                score=score, id=f"p{line}", line=line + 2))
    return pairs


def train_toy(tiny_model_dir, **options):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    loss = options.get("loss", "cosent")
    pairs = toy_pairs(64, seed=1)
    if loss == "mnrl":
        pairs = [pair for pair in pairs if pair.score > 3]
    train = encode_pairs(encoder, pairs, with_scores=loss != "mnrl")
    config = SbertConfig(**{"batch_size": 8, "lr": 1e-3, "seed": 3, **options})
    result = train_sbert(encoder, train, toy_pairs(40, seed=2), config, progress=False)
    return encoder, result


# The toy positives all look alike, so mnrl's in-batch negatives are near-paraphrases of the positive.
# Its loss cannot fall far, while the scored losses can approach 0.
@pytest.mark.parametrize("loss,factor", [("cosine", 0.7), ("cosent", 0.7), ("mnrl", 0.9)])
def test_training_lowers_loss(tiny_model_dir, loss, factor):
    _, result = train_toy(tiny_model_dir, loss=loss, epochs=4)
    assert result.history[-1].train_loss < factor * result.history[0].train_loss


def test_training_raises_toy_spearman(tiny_model_dir):
    from minbert.embeddings.sts import evaluate_sts

    before = evaluate_sts(SentenceEncoder.from_pretrained(tiny_model_dir), toy_pairs(40, seed=2))
    _, result = train_toy(tiny_model_dir, epochs=4)
    assert result.best_dev.spearman > before.spearman + 0.2
    assert result.best_dev.spearman == max(record.dev.spearman for record in result.history)


def test_same_seed_gives_same_run(tiny_model_dir):
    first, first_result = train_toy(tiny_model_dir, epochs=1)
    second, second_result = train_toy(tiny_model_dir, epochs=1)
    assert first_result.history[0].train_loss == second_result.history[0].train_loss
    for a, b in zip(first.parameters(), second.parameters()):
        assert torch.equal(a, b)


def test_max_steps_stops_inside_epoch(tiny_model_dir):
    _, result = train_toy(tiny_model_dir, epochs=3, max_steps=3)
    assert len(result.history) == 1
    assert result.history[0].pairs_per_second > 0
    assert result.history[0].train_loss > 0


def test_nan_loss_raises_training_error(tiny_model_dir, monkeypatch):
    import minbert.training.sbert as sbert

    def nan_after_two_batches(*arguments, **options):
        calls.append(1)
        loss = original(*arguments, **options)
        return loss * float("nan") if len(calls) > 2 else loss

    calls, original = [], sbert.sbert_loss
    monkeypatch.setattr(sbert, "sbert_loss", nan_after_two_batches)
    with pytest.raises(TrainingError, match="loss is nan at epoch 1, batch 3"):
        train_toy(tiny_model_dir, epochs=1)


def test_scored_loss_on_positive_pairs_is_rejected(tiny_model_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    train = encode_pairs(encoder, toy_pairs(8, seed=1), with_scores=False)
    with pytest.raises(ConfigError, match="needs scored pairs"):
        train_sbert(encoder, train, toy_pairs(8, seed=2), SbertConfig(loss="cosent"), progress=False)


@pytest.mark.parametrize("loss", ["mnrl", "cosent"])
def test_in_batch_losses_need_two_pairs_per_batch(loss):
    with pytest.raises(ConfigError, match="batch_size=1"):
        SbertConfig(loss=loss, batch_size=1)
    assert SbertConfig(loss="cosine", batch_size=1).batch_size == 1


# Saving: the folder loads in sentence-transformers with the same embeddings, and replacing it is atomic.

def test_saved_model_loads_in_sentence_transformers(tiny_model_dir, tmp_path):
    from sentence_transformers import SentenceTransformer

    trained, _ = train_toy(tiny_model_dir, epochs=1)
    save_encoder_atomic(trained, tmp_path / "model", extra_files={"metrics.json": "{}\n"})
    sentences = [pair.first for pair in toy_pairs(10, seed=5)] + ["the movie was not fun !"]
    ours = SentenceEncoder.from_pretrained(tmp_path / "model").encode(sentences)
    theirs = SentenceTransformer(str(tmp_path / "model"), device="cpu").encode(sentences)
    assert ours.shape == theirs.shape == (11, 32)
    assert abs(ours - theirs).max() < 1e-5
    # The trained weights were saved, not the initial ones.
    untrained = SentenceEncoder.from_pretrained(tiny_model_dir).encode(sentences)
    assert abs(ours - untrained).max() > 1e-3
    assert (tmp_path / "model" / "metrics.json").read_text() == "{}\n"


def test_save_replaces_old_model_whole(tiny_model_dir, tmp_path):
    output = tmp_path / "model"
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    save_encoder_atomic(encoder, output, extra_files={"metrics.json": "old\n"})
    (output / "pytorch_model.bin").write_bytes(b"stale weights")
    save_encoder_atomic(encoder, output)
    assert (output / "config.json").is_file()
    assert not (output / "metrics.json").exists()
    assert not (output / "pytorch_model.bin").exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_interrupted_save_keeps_old_model(tiny_model_dir, tmp_path, monkeypatch):
    output = tmp_path / "model"
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    save_encoder_atomic(encoder, output, extra_files={"metrics.json": "old\n"})

    def interrupted(folder):
        (folder / "config.json").write_text("partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(encoder, "save_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_encoder_atomic(encoder, output, extra_files={"metrics.json": "new\n"})
    assert (output / "metrics.json").read_text() == "old\n"
    assert json.loads((output / "config.json").read_text())["hidden_size"] == 32
    assert sorted(path.name for path in tmp_path.iterdir()) == ["model"]


def test_save_rejects_folder_without_model(tiny_model_dir, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="contains notes.txt, which minbert does not write"):
        save_encoder_atomic(SentenceEncoder.from_pretrained(tiny_model_dir), tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


# CLI: a whole run on the tiny model, and one-line errors with exit status 2.

def write_pairs(path, pairs, score_column="similarity"):
    lines = [f"\tid\tsentence1\tsentence2\t{score_column}"]
    lines += [f"{index}\t{pair.id}\t{pair.first}\t{pair.second}\t{pair.score}" for index, pair in enumerate(pairs)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def toy_data_dir(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    write_pairs(folder / "sts-train.csv", toy_pairs(48, seed=1))
    write_pairs(folder / "sts-dev.csv", toy_pairs(24, seed=2))
    quora = [ScoredPair(pair.first, pair.second, float(pair.score > 3), pair.id, pair.line)
             for pair in toy_pairs(60, seed=3)]
    write_pairs(folder / "quora-dev.csv", quora, score_column="is_duplicate")
    return folder


@pytest.mark.parametrize("data,loss", [("sts", "cosent"), ("sts", "cosine"), ("quora", "mnrl")])
def test_cli_trains_and_saves(tiny_model_dir, toy_data_dir, tmp_path, capsys, data, loss):
    output = tmp_path / "model"
    assert main(["sbert", "train", "--data", data, "--loss", loss, "--model", str(tiny_model_dir),
                 "--data-dir", str(toy_data_dir), "--output", str(output), "--epochs", "2", "--batch-size", "8",
                 "--lr", "1e-3", "--no-progress"]) == 0
    printed = capsys.readouterr()
    lines = printed.out.splitlines()
    assert lines[1].startswith("zero-shot: STS dev Spearman")
    assert lines[2].startswith("epoch 1: train loss")
    assert lines[3].startswith("epoch 2: train loss")
    metrics = json.loads((output / "metrics.json").read_text())
    assert [record["epoch"] for record in metrics["history"]] == [1, 2]
    assert metrics["best_dev"]["spearman"] == max(record["dev"]["spearman"] for record in metrics["history"])
    assert set(metrics["zero_shot"]) >= {"spearman", "pearson"}
    # A run that never beats the model it started from prints a warning.
    below_zero_shot = metrics["best_dev"]["spearman"] <= metrics["zero_shot"]["spearman"]
    assert ("warning: no epoch scored above zero-shot" in printed.err) == below_zero_shot
    assert SentenceEncoder.from_pretrained(output).dimension == 32


def cli_error(capsys, *arguments):
    code = main(["sbert", "train", *arguments])
    error = capsys.readouterr().err
    return code, error


def test_cli_rejects_loss_for_data(capsys, tmp_path):
    for data, loss in (("sts", "mnrl"), ("quora", "cosine"), ("quora", "cosent")):
        code, error = cli_error(capsys, "--data", data, "--loss", loss, "--output", str(tmp_path / "out"))
        assert code == 2
        assert error.count("\n") == 1
        assert f"--loss {loss}" in error


def test_cli_rejects_bad_inputs(tiny_model_dir, toy_data_dir, tmp_path, capsys):
    (toy_data_dir / "bad-scores").mkdir()
    write_pairs(toy_data_dir / "bad-scores" / "sts-dev.csv", toy_pairs(4, seed=2))
    rows = (toy_data_dir / "sts-train.csv").read_text().splitlines()
    rows[3] = rows[3].rsplit("\t", 1)[0] + "\thigh"
    (toy_data_dir / "bad-scores" / "sts-train.csv").write_text("\n".join(rows) + "\n")
    (toy_data_dir / "no-column").mkdir()
    write_pairs(toy_data_dir / "no-column" / "sts-train.csv", toy_pairs(4, seed=1), score_column="score")
    write_pairs(toy_data_dir / "no-column" / "sts-dev.csv", toy_pairs(4, seed=2))
    (tmp_path / "not-bert").mkdir()
    cases = [
        (["--data-dir", str(toy_data_dir / "bad-scores")], "'high' is not a number"),
        (["--data-dir", str(toy_data_dir / "no-column")], "similarity"),
        (["--data-dir", str(toy_data_dir), "--model", str(tmp_path / "not-bert")], "config.json"),
        (["--data-dir", str(tmp_path / "missing")], "data folder not found"),
        (["--data-dir", str(toy_data_dir), "--batch-size", "0"], "--batch-size 0 is invalid"),
        (["--data-dir", str(toy_data_dir), "--batch-size", "1"], "--batch-size 1 is invalid for loss 'cosent' "
                                                                 "(expected 2 or more)"),
        (["--data-dir", str(toy_data_dir), "--lr", "0"], "--lr 0.0 is invalid (expected a positive number"),
        (["--data-dir", str(toy_data_dir), "--epochs", "0"], "--epochs 0 is invalid (expected 1 or more)"),
        (["--data-dir", str(toy_data_dir), "--max-length", "1000"], "--max-length 1000 is invalid (expected 3 to"),
        (["--data-dir", str(toy_data_dir), "--max-steps", "0"], "--max-steps 0 is invalid"),
    ]
    for arguments, expected in cases:
        model = [] if "--model" in arguments else ["--model", str(tiny_model_dir)]
        code, error = cli_error(capsys, *model, *arguments, "--output", str(tmp_path / "out"))
        assert code == 2, arguments
        assert error.count("\n") == 1, error
        assert expected in error, error
    assert not (tmp_path / "out").exists()


def test_cli_rejects_model_folder_as_output(tiny_model_dir, toy_data_dir, capsys):
    code, error = cli_error(capsys, "--model", str(tiny_model_dir), "--data-dir", str(toy_data_dir),
                            "--output", str(tiny_model_dir))
    assert code == 2
    assert "is the --model folder" in error


def test_cli_rejects_output_with_other_files(tiny_model_dir, toy_data_dir, tmp_path, capsys):
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "notes.txt").write_text("keep me")
    code, error = cli_error(capsys, "--model", str(tiny_model_dir), "--data-dir", str(toy_data_dir),
                            "--output", str(tmp_path / "project"))
    assert code == 2
    assert error.count("\n") == 1
    assert "contains notes.txt, which minbert does not write in a model folder" in error
