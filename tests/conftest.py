"""Shared fixtures: where the shared data and the default model are found."""

import os
from pathlib import Path

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]

# CI replays the same generated examples on every run, so a rare generated case cannot turn one run red
# by chance. Local runs draw new examples each time and keep exploring.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def find_data_dir() -> Path | None:
    """Return the shared data folder from MINBERT_DATA, else ../shared/data, else None."""
    candidates = []
    if os.environ.get("MINBERT_DATA"):
        candidates.append(Path(os.environ["MINBERT_DATA"]))
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "ids-sst-dev.csv").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    found = find_data_dir()
    if found is None:
        pytest.skip("shared data not found: set MINBERT_DATA to the folder holding ids-sst-dev.csv")
    return found


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from minbert.model.pretrained import default_model_dir

    return default_model_dir()


TINY_WORDS = ["good", "great", "fun", "bad", "awful", "dull", "movie", "the", "a", "was", "plot", ".", ",", "!",
              "##s", "##ly", "not"]


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A randomly initialised 2-layer BERT folder with a 22-token vocabulary, saved like a real checkpoint."""
    import torch

    from minbert import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def write_tsv(path: Path, rows: list[tuple[str, int]], header: tuple[str, str] = ("sentence", "sentiment")) -> Path:
    """Write rows in the layout of the shared SST files: index, id, text, label, tab-separated."""
    lines = ["\tid\t" + "\t".join(header)]
    lines += [f"{index}\tid{index}\t{text}\t{label}" for index, (text, label) in enumerate(rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def toy_sentiment_rows(count: int, seed: int) -> list[tuple[str, int]]:
    """Separable two-class texts: positive words give label 1, negative words label 0."""
    import random

    generator = random.Random(seed)
    rows = []
    for _ in range(count):
        label = generator.randrange(2)
        words = ["good", "great", "fun"] if label else ["bad", "awful", "dull"]
        text = " ".join(["the", "movie", "was", generator.choice(words), generator.choice(words), "."])
        rows.append((text, label))
    return rows
