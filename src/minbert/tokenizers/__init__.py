"""Text to token ids and back: BERT's basic tokenizer and WordPiece.

This layer does not import torch at module level; only
``WordPieceTokenizer.encode_batch`` imports it, to build tensors.
"""

from minbert.tokenizers.basic import basic_tokenize
from minbert.tokenizers.bpe import BPETokenizer
from minbert.tokenizers.wordpiece import (
    SPECIAL_TOKENS,
    BatchEncoding,
    Encoding,
    WordPieceTokenizer,
    read_vocab,
    truncate_longest_first,
)

__all__ = [
    "BPETokenizer",
    "SPECIAL_TOKENS",
    "BatchEncoding",
    "Encoding",
    "WordPieceTokenizer",
    "basic_tokenize",
    "read_vocab",
    "truncate_longest_first",
]
