"""Speed of minbert's BLEU and ROUGE against sacrebleu and rouge-score on the quora dev pairs.

Scores every pair of quora-dev.csv (sentence1 as hypothesis, sentence2 as
reference) four ways: corpus BLEU, sentence BLEU of each pair, and ROUGE-1,
ROUGE-2, ROUGE-L and ROUGE-Lsum of each pair without and with the Porter
stemmer. Each way runs with minbert and with the reference library, and
every value must agree to 1e-9 or the script exits with status 1.

Both sides start cold: sacrebleu's tokenizer caches and minbert's stem cache
are cleared before each timed run, so a run never reuses work of an earlier
one. With --repeat R, each time is the fastest of R runs.

Usage: python benchmarks/bench_metrics.py [--data-dir DIR] [--limit N] [--repeat R]

Limitations: wall-clock time of single-threaded Python on one machine. Other
processes on the machine slow both sides, so run it on an otherwise idle
machine for stable ratios.
"""

import argparse
import importlib.metadata
import csv
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sacrebleu
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a
from sacrebleu.tokenizers.tokenizer_re import TokenizerRegexp

from common import add_data_dir_argument
from minbert.metrics import rouge as minbert_rouge
from minbert.metrics.bleu import corpus_bleu, sentence_bleu
from minbert.metrics.rouge import RougeConfig, corpus_rouge

ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
TOLERANCE = 1e-9


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_dir_argument(parser, contents="quora-dev.csv")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N pairs (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per method, keeping the fastest (default: 1)")
    return parser.parse_args()


def read_pairs(path: Path, limit: int | None) -> tuple[list[str], list[str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))[:limit]
    return [row["sentence1"] for row in rows], [row["sentence2"] for row in rows]


def clear_caches() -> None:
    Tokenizer13a.__call__.cache_clear()
    TokenizerRegexp.__call__.cache_clear()
    minbert_rouge._cached_stem.cache_clear()


def fastest(run: Callable[[], list[float]], repeat: int) -> tuple[float, list[float]]:
    """Return the fastest wall-clock time of ``repeat`` cold runs, and the values of the last one."""
    best = float("inf")
    for _ in range(repeat):
        clear_caches()
        start = time.perf_counter()
        values = run()
        best = min(best, time.perf_counter() - start)
    return best, values


def rouge_values(scores: list[dict]) -> list[float]:
    return [getattr(score[rouge_type], field) for score in scores for rouge_type in ROUGE_TYPES
            for field in ("precision", "recall", "fmeasure")]


def main() -> int:
    args = parse_args()
    for name, value in (("--limit", args.limit), ("--repeat", args.repeat)):
        if value is not None and value < 1:
            print(f"error: {name}={value} must be at least 1", file=sys.stderr)
            return 2
    quora_path = args.data_dir / "quora-dev.csv"
    if not quora_path.is_file():
        print(f"error: {quora_path} not found. Pass --data-dir or set MINBERT_DATA", file=sys.stderr)
        return 2
    hypotheses, references = read_pairs(quora_path, args.limit)
    pairs = list(zip(hypotheses, references))

    sentence_metric = BLEU(effective_order=True)
    plain_scorer = rouge_scorer.RougeScorer(ROUGE_TYPES)
    stemming_scorer = rouge_scorer.RougeScorer(ROUGE_TYPES, use_stemmer=True)
    stemming = RougeConfig(use_stemmer=True)

    # Each task maps to (minbert, reference), and each returns a flat list of values to compare.
    tasks = {
        "corpus BLEU": (
            lambda: [corpus_bleu(hypotheses, [references]).score],
            lambda: [BLEU().corpus_score(hypotheses, [references]).score],
        ),
        "sentence BLEU, every pair": (
            lambda: [sentence_bleu(hyp, [ref]).score for hyp, ref in pairs],
            lambda: [sentence_metric.sentence_score(hyp, [ref]).score for hyp, ref in pairs],
        ),
        "ROUGE 1/2/L/Lsum, every pair": (
            lambda: rouge_values(corpus_rouge(hypotheses=hypotheses, references=references)),
            lambda: rouge_values([plain_scorer.score(ref, hyp) for hyp, ref in pairs]),
        ),
        "ROUGE with stemmer, every pair": (
            lambda: rouge_values(corpus_rouge(hypotheses=hypotheses, references=references, config=stemming)),
            lambda: rouge_values([stemming_scorer.score(ref, hyp) for hyp, ref in pairs]),
        ),
    }

    print(f"{len(pairs)} quora pairs, Python {platform.python_version()}, sacrebleu {sacrebleu.__version__}, "
          f"rouge-score {importlib.metadata.version('rouge-score')}, "
          f"{os.cpu_count()} CPUs ({platform.machine()}), fastest of {args.repeat} run(s)")
    print(f"{'task':<32} {'minbert s':>10} {'reference s':>12} {'speed-up':>9} {'max |diff|':>11}")
    status = 0
    for name, (ours, reference) in tasks.items():
        our_seconds, our_values = fastest(ours, args.repeat)
        reference_seconds, reference_values = fastest(reference, args.repeat)
        difference = max(abs(a - b) for a, b in zip(our_values, reference_values, strict=True))
        print(f"{name:<32} {our_seconds:>10.3f} {reference_seconds:>12.3f} "
              f"{reference_seconds / our_seconds:>8.2f}x {difference:>11.1e}")
        if difference > TOLERANCE:
            print(f"error: {name} differs from the reference by {difference:.3e}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
