"""minbert: BERT and the NLP fundamentals around it, from scratch in PyTorch.

The public names below are imported on first use, so ``import minbert`` and
``minbert --help`` stay fast and do not load torch until a model is needed.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "WordPieceTokenizer": "minbert.tokenizers.wordpiece",
    "Encoding": "minbert.tokenizers.wordpiece",
    "BatchEncoding": "minbert.tokenizers.wordpiece",
    "BPETokenizer": "minbert.tokenizers.bpe",
    "BertConfig": "minbert.model.config",
    "BertModel": "minbert.model.bert",
    "AdamW": "minbert.optim.adamw",
    "SentenceEncoder": "minbert.embeddings.encoder",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'minbert' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
