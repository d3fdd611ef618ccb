"""Text-generation metrics: BLEU, ROUGE and perplexity, with the numbers of the reference tools.

BLEU matches sacrebleu and ROUGE matches rouge-score, and each module's
docstring gives the formula and any deliberate difference. The perplexity
functions stay in ``minbert.metrics.perplexity``, because a package-level
``perplexity`` function would hide that module. Nothing here imports torch.
"""

from minbert.metrics.bleu import BleuConfig, BleuScore, corpus_bleu, sentence_bleu
from minbert.metrics.rouge import (
    RougeConfig,
    RougeInterval,
    RougeScore,
    bootstrap_interval,
    corpus_rouge,
    score_rouge,
)

__all__ = [
    "BleuConfig",
    "BleuScore",
    "RougeConfig",
    "RougeInterval",
    "RougeScore",
    "bootstrap_interval",
    "corpus_bleu",
    "corpus_rouge",
    "score_rouge",
    "sentence_bleu",
]
