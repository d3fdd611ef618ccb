"""SentenceEncoder against sentence-transformers: embeddings, pooling modes, saved folders, STS scores."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given
from hypothesis import strategies as st

from minbert.data.pairs import read_scored_pairs
from minbert.embeddings import SentenceEncoder
from minbert.embeddings.pooling import max_pool, mean_pool
from minbert.embeddings.st_folder import SentenceSettings, read_settings
from minbert.embeddings.sts import evaluate_sts
from minbert.errors import CheckpointError, DataError
from minbert.metrics.correlation import mean_ranks, pearson, spearman


@pytest.fixture(scope="module")
def sts_dev(data_dir):
    return read_scored_pairs(data_dir / "sts-dev.csv")


@pytest.fixture(scope="module")
def sts_sentences(sts_dev) -> list[str]:
    return list(dict.fromkeys(text for pair in sts_dev for text in (pair.first, pair.second)))


@pytest.fixture(scope="module")
def encoder(model_dir) -> SentenceEncoder:
    return SentenceEncoder.from_pretrained(model_dir)


def load_reference(folder: Path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu")


@pytest.fixture(scope="module")
def reference_embeddings(model_dir, sts_sentences) -> np.ndarray:
    return load_reference(model_dir).encode(sts_sentences, batch_size=32)


def with_pooling(model_dir: Path, folder: Path, mode_flag: str) -> Path:
    """Copy the default model folder with another pooling mode in 1_Pooling/config.json."""
    shutil.copytree(model_dir, folder, symlinks=True,
                    ignore=shutil.ignore_patterns("model.safetensors", "1_Pooling"))
    (folder / "model.safetensors").symlink_to(model_dir / "model.safetensors")
    (folder / "1_Pooling").mkdir()
    config = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    config = {key: (key == mode_flag) if key.startswith("pooling_mode") else value for key, value in config.items()}
    (folder / "1_Pooling" / "config.json").write_text(json.dumps(config))
    return folder


def test_default_model_settings(encoder):
    assert (encoder.pooling, encoder.normalize, encoder.max_length) == ("mean", True, 256)


def test_sts_dev_embeddings_match_sentence_transformers(encoder, sts_sentences, reference_embeddings):
    ours = encoder.encode(sts_sentences, batch_size=32)

    assert ours.dtype == np.float32
    assert ours.shape == (1692, 384)
    assert np.abs(ours - reference_embeddings).max() < 1e-5


def test_encode_keeps_input_order(encoder, sts_sentences):
    texts = sts_sentences[:40]
    together = encoder.encode(texts, batch_size=7)
    one_by_one = np.stack([encoder.encode(text) for text in texts])

    np.testing.assert_allclose(together, one_by_one, atol=1e-5)


def test_encode_truncates_at_256_tokens(encoder):
    long_text = "word " * 600
    assert np.allclose(encoder.encode(long_text), encoder.encode("word " * 254), atol=1e-6)


def test_encode_returns_tensor_and_unnormalised(encoder):
    vectors = encoder.encode(["a cat", "a dog"], normalize=False, convert_to_tensor=True)

    assert isinstance(vectors, torch.Tensor)
    assert not torch.allclose(vectors.norm(dim=1), torch.ones(2))


@pytest.mark.parametrize("flag", ["pooling_mode_cls_token", "pooling_mode_max_tokens"])
def test_other_pooling_modes_match_sentence_transformers(model_dir, tmp_path, sts_sentences, flag):
    folder = with_pooling(model_dir, tmp_path / "model", flag)
    texts = sts_sentences[:64]

    ours = SentenceEncoder.from_pretrained(folder).encode(texts)
    reference = load_reference(folder).encode(texts, batch_size=32)

    assert np.abs(ours - reference).max() < 1e-5


def test_unsupported_pooling_is_rejected(model_dir, tmp_path):
    folder = with_pooling(model_dir, tmp_path / "model", "pooling_mode_mean_sqrt_len_tokens")
    with pytest.raises(CheckpointError, match="pooling_mode_mean_sqrt_len_tokens is not supported"):
        SentenceEncoder.from_pretrained(folder)


def test_unknown_module_is_rejected(tmp_path):
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Dense"}]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    with pytest.raises(CheckpointError, match="Dense"):
        read_settings(tmp_path)


def test_plain_bert_folder_has_default_settings(tiny_model_dir):
    assert read_settings(tiny_model_dir) == SentenceSettings()
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir)
    assert (encoder.pooling, encoder.normalize, encoder.max_length) == ("mean", True, 128)


def test_saved_folder_loads_in_sentence_transformers(encoder, tmp_path, sts_sentences):
    encoder.save_pretrained(tmp_path / "saved")
    texts = sts_sentences[:48]

    reloaded = SentenceEncoder.from_pretrained(tmp_path / "saved")
    reference = load_reference(tmp_path / "saved")

    assert reference.max_seq_length == 256
    assert np.abs(reloaded.encode(texts) - encoder.encode(texts)).max() == 0
    assert np.abs(reference.encode(texts, batch_size=32) - encoder.encode(texts)).max() < 1e-5


def test_max_pool_ignores_padding(tiny_model_dir):
    encoder = SentenceEncoder.from_pretrained(tiny_model_dir).encoder
    ids = torch.tensor([[2, 5, 6, 3], [2, 7, 3, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]])
    states = encoder.encode_packed(ids, mask)
    padded = states.packing.unpack(states.hidden)

    assert torch.equal(max_pool(states)[1], padded[1, :3].max(dim=0).values)
    assert torch.allclose(mean_pool(states)[1], padded[1, :3].mean(dim=0))


def test_zero_shot_sts_matches_sentence_transformers(encoder, sts_dev, sts_sentences, reference_embeddings):
    row = {text: position for position, text in enumerate(sts_sentences)}
    first = reference_embeddings[[row[pair.first] for pair in sts_dev]]
    second = reference_embeddings[[row[pair.second] for pair in sts_dev]]
    cosines = (first * second).sum(axis=1) / (np.linalg.norm(first, axis=1) * np.linalg.norm(second, axis=1))
    gold = [pair.score for pair in sts_dev]

    result = evaluate_sts(encoder, sts_dev)

    assert result.pairs == 863
    assert result.spearman == pytest.approx(scipy.stats.spearmanr(cosines, gold)[0], abs=1e-5)
    assert result.pearson == pytest.approx(scipy.stats.pearsonr(cosines, gold)[0], abs=1e-5)
    assert round(result.spearman, 3) == 0.808
    assert round(result.pearson, 3) == 0.838


scores = st.lists(st.integers(min_value=0, max_value=5).map(float), min_size=3, max_size=40)


@given(scores, st.randoms(use_true_random=False))
def test_correlations_match_scipy(values, generator):
    other = [value + generator.choice([-1.0, 0.0, 0.5, 2.0]) for value in values]
    if len(set(values)) < 2 or len(set(other)) < 2:
        return
    assert spearman(values, other) == pytest.approx(scipy.stats.spearmanr(values, other)[0], abs=1e-12)
    assert pearson(values, other) == pytest.approx(scipy.stats.pearsonr(values, other)[0], abs=1e-12)


def test_mean_ranks_share_ties():
    assert mean_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_correlation_rejects_mismatched_lengths():
    with pytest.raises(DataError, match="3 predictions but 2 gold scores"):
        pearson([1, 2, 3], [1, 2])


def test_pair_reader_rejects_non_numeric_score(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("sentence1\tsentence2\tsimilarity\na\tb\t4.2\nc\td\thigh\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs.csv:3: similarity 'high' is not a number"):
        read_scored_pairs(path)


def test_pair_reader_skips_missing_quora_labels(data_dir):
    pairs = read_scored_pairs(data_dir / "quora-dev.csv", score_column="is_duplicate", id_column="id",
                              skip_missing_scores=True)
    assert len(pairs) == 20_212
    assert {pair.score for pair in pairs} == {0.0, 1.0}
