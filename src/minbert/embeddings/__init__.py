"""Sentence embeddings: pooling, the sentence-transformers folder layout, SentenceEncoder, search."""

from minbert.embeddings.encoder import SentenceEncoder

__all__ = ["SentenceEncoder"]
