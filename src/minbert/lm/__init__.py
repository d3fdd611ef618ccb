"""Statistical language models trained on tokenized text."""

from minbert.lm.ngram import BOS, EOS, UNK, NGramConfig, NGramLM

__all__ = ["BOS", "EOS", "UNK", "NGramConfig", "NGramLM"]
