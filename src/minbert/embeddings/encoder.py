"""SentenceEncoder: Sentence-BERT embeddings (Reimers and Gurevych, 2019) from a BERT encoder.

    h = BertModel(tokens)            final states of the real tokens
    e = pool(h)                      mean (the default), [CLS] or max; see ``pooling``
    e = e / ||e||_2                  when ``normalize``

``encode`` tokenises every text once, sorts the texts by token count so that
each batch has texts of similar length, runs the batches without gradients,
and returns the rows in input order. Calling the module itself (``forward``)
keeps gradients, for training. Loading reads the pooling mode, normalisation
and maximum length from the sentence-transformers files of the folder
(``st_folder``), so all-MiniLM-L6-v2 gives mean pooling, normalised vectors
and 256 tokens, as sentence-transformers does. The tests check that
``encode`` matches sentence-transformers' ``SentenceTransformer.encode``
within 1e-5 per component on every sentence of sts-dev.csv.

Legend: B batch, T tokens, M texts, C hidden size.
"""

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from minbert.atomic import write_text_atomic
from minbert.data.batching import apply_in_batches, pad_rows
from minbert.embeddings.pooling import POOLING_MODES, PoolingMode, pool
from minbert.embeddings.st_folder import SentenceSettings, read_settings, write_settings
from minbert.errors import CheckpointError, ConfigError, ParameterError
from minbert.model.bert import BertModel
from minbert.model.pretrained import check_vocab_fits, default_model_dir, load_tokenizer
from minbert.tokenizers.wordpiece import WordPieceTokenizer

# encode shows a progress bar by default from this many batches on.
PROGRESS_MIN_BATCHES = 20


class SentenceEncoder(nn.Module):
    def __init__(self, encoder: BertModel, tokenizer: WordPieceTokenizer, *, pooling: PoolingMode = "mean",
                 normalize: bool = True, max_length: int | None = None) -> None:
        super().__init__()
        if pooling not in POOLING_MODES:
            raise ConfigError(f"pooling {pooling!r} is not supported (expected one of {', '.join(POOLING_MODES)})")
        limit = encoder.config.max_position_embeddings
        max_length = limit if max_length is None else max_length
        if not 3 <= max_length <= limit:
            raise ParameterError("max_length", max_length, f"is invalid (expected 3 to the model's {limit} positions)")
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.pooling = pooling
        self.normalize = normalize
        self.max_length = max_length

    @classmethod
    def from_pretrained(cls, folder: str | Path | None = None) -> "SentenceEncoder":
        """Load a BERT or sentence-transformers folder; None loads all-MiniLM-L6-v2.

        Without sentence-transformers files the encoder uses mean pooling,
        normalised vectors and the model's full length. Raises
        CheckpointError naming the file when the folder is not a BERT model.
        """
        folder = default_model_dir() if folder is None else Path(folder)
        encoder = BertModel.from_pretrained(folder)
        tokenizer = load_tokenizer(folder)
        check_vocab_fits(tokenizer, encoder.config.vocab_size, folder=folder)
        settings = read_settings(folder)
        limit = encoder.config.max_position_embeddings
        if settings.max_length is not None and settings.max_length > limit:
            raise CheckpointError(f"{folder / 'sentence_bert_config.json'}: max_seq_length {settings.max_length} "
                                  f"is above the model's {limit} positions (config.json)")
        normalize = True if settings.normalize is None else settings.normalize
        return cls(encoder, tokenizer, pooling=settings.pooling, normalize=normalize,
                   max_length=settings.max_length)

    @property
    def dimension(self) -> int:
        return self.encoder.config.hidden_size

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Return the ids of each text, [CLS] ... [SEP], truncated to ``max_length``."""
        return [self.tokenizer.encode(text, max_length=self.max_length).ids for text in texts]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(B, T) ids and mask -> (B, C) embeddings, normalised when ``normalize``, with gradients."""
        embeddings = pool(self.encoder.encode_packed(input_ids, attention_mask), self.pooling)
        if self.normalize:
            embeddings = nn.functional.normalize(embeddings, p=2.0, dim=1)
        return embeddings

    def embed_ids(self, ids: Sequence[Sequence[int]]) -> torch.Tensor:
        """Pad the token id rows into one batch and return their (B, C) embeddings, with gradients."""
        input_ids, attention_mask = pad_rows(ids, pad_id=self.tokenizer.pad_token_id)
        return self(input_ids, attention_mask)

    @torch.inference_mode()
    def encode(self, texts: str | Sequence[str], *, batch_size: int = 32, normalize: bool | None = None,
               convert_to_tensor: bool = False, show_progress: bool | None = None) -> np.ndarray | torch.Tensor:
        """Embed ``texts`` and return an (M, C) float32 array (a tensor with ``convert_to_tensor``).

        A single string gives a (C,) vector. ``normalize`` overrides the
        model's setting for this call. The progress bar shows by default from
        20 batches on, and only on a terminal.
        """
        if batch_size < 1:
            raise ConfigError(f"batch_size={batch_size} is invalid (expected 1 or more)")
        single = isinstance(texts, str)
        ids = self.tokenize([texts] if single else texts)
        normalize = self.normalize if normalize is None else normalize

        if show_progress is None:
            show_progress = len(ids) >= PROGRESS_MIN_BATCHES * batch_size and sys.stderr.isatty()

        def pooled(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return pool(self.encoder.encode_packed(input_ids, attention_mask), self.pooling)

        was_training = self.training
        self.eval()
        embeddings = apply_in_batches(pooled, ids, width=self.dimension, batch_size=batch_size,
                                      pad_id=self.tokenizer.pad_token_id, progress=show_progress,
                                      description="Embedding")
        self.train(was_training)
        if normalize:
            embeddings = nn.functional.normalize(embeddings, p=2.0, dim=1)
        if single:
            embeddings = embeddings[0]
        return embeddings if convert_to_tensor else embeddings.numpy()

    def save_pretrained(self, folder: str | Path) -> None:
        """Write a folder that minbert, transformers and sentence-transformers load, each file atomically."""
        folder = Path(folder)
        self.encoder.save_pretrained(folder)
        self.tokenizer.save_vocab(folder / "vocab.txt")
        tokenizer_config = {
            "tokenizer_class": "BertTokenizer",
            "do_lower_case": self.tokenizer.lowercase,
            "model_max_length": self.max_length,
        }
        write_text_atomic(folder / "tokenizer_config.json", json_text(tokenizer_config))
        special_tokens = {"cls_token": "[CLS]", "sep_token": "[SEP]", "pad_token": "[PAD]",
                          "unk_token": "[UNK]", "mask_token": "[MASK]"}
        write_text_atomic(folder / "special_tokens_map.json", json_text(special_tokens))
        settings = SentenceSettings(pooling=self.pooling, normalize=self.normalize, max_length=self.max_length)
        write_settings(folder, settings, hidden_size=self.dimension)


def json_text(value: object) -> str:
    return json.dumps(value, indent=2) + "\n"
