"""Tokenizer training speed and quality of minbert against Hugging Face ``tokenizers``.

Reads every text column (``sentence``, ``sentence1``, ``sentence2``) of every
.csv file in the data folder, one line per value. Every tenth line (index 9,
19, ...) is held out, and the other 90% is the training text. The run has
four parts:

1. Byte-level BPE with the GPT-2 pattern to each vocab size:
   ``BPETokenizer.train`` against the ``tokenizers`` BPE trainer with one
   thread and with its default thread count. The one-thread run is a child
   process of this script, because RAYON_NUM_THREADS must be set before
   ``tokenizers`` is loaded.
2. A naive BPE trainer that recounts every pair after every merge, on the
   first 1% of the training lines, for up to ``--naive-seconds``, against
   ``BPETokenizer.train`` to the same number of merges on the same lines.
   Both must learn the same merges.
3. Encoding the held-out lines with the largest minbert BPE tokenizer and
   with a ``tokenizers.Tokenizer`` loaded from its tokenizer.json export,
   one call per line and one ``encode_batch`` call. The ids must be equal.
4. WordPiece: ``WordPieceTokenizer.train`` against the ``tokenizers``
   WordPiece trainer behind a BERT pipeline (``BertNormalizer`` with
   lowercasing, ``BertPreTokenizer``, the same five special tokens). On the
   held-out lines each vocabulary is applied by its own tokenizer. Tokens
   per word divides by the word count of minbert's ``basic_tokenize``.
   minbert trains with both of its scores, ``"count"`` (the default) and
   ``"likelihood"`` (the textbook score).

Usage: python benchmarks/bench_tokenizer_training.py [--data-dir DIR] [--fraction F]

Limitations: one run per measurement, wall-clock time, no warm-up. The
default thread count of ``tokenizers`` is the number of CPUs, so that row
depends on the machine.
"""

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import add_data_dir_argument
from minbert.tokenizers import WordPieceTokenizer
from minbert.tokenizers.basic import basic_tokenize
from minbert.tokenizers.bpe import BPETokenizer, split_chunks
from minbert.tokenizers.bpe_training import Pair, count_pairs, merge_pair
from minbert.tokenizers.hf_export import save_tokenizer_json
from minbert.tokenizers.wordpiece import SPECIAL_TOKENS, UNK_TOKEN

TEXT_COLUMNS = ("sentence", "sentence1", "sentence2")
BPE_VOCAB_SIZES = (1024, 4096, 16384)
WORDPIECE_VOCAB_SIZES = (4096, 16384)
NAIVE_VOCAB_SIZE = 4096


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_data_dir_argument(parser, contents="the .csv files")
    parser.add_argument(
        "--fraction", type=float, default=1.0, help="use only this leading fraction of the lines (default: 1.0)"
    )
    parser.add_argument(
        "--naive-seconds", type=float, default=300.0,
        help="time limit of the naive BPE trainer in seconds (default: 300; it needed about 100 s here)"
    )
    parser.add_argument(
        "--only-hf-threads",
        type=int,
        default=None,
        help="internal: time only the tokenizers BPE trainer and print the seconds per vocab size as JSON",
    )
    return parser.parse_args()


def read_lines(data_dir: Path) -> list[str]:
    """Read every non-empty text value of every .csv file in ``data_dir``, files in name order."""
    paths = sorted(data_dir.glob("*.csv"))
    if not paths:
        raise SystemExit(f"error: no .csv files in {data_dir}; pass --data-dir or set MINBERT_DATA")
    lines = []
    for path in paths:
        with open(path, encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle, delimiter="\t"):
                lines.extend(row[column] for column in TEXT_COLUMNS if row.get(column))
    return lines


def split_held_out(lines: list[str]) -> tuple[list[str], list[str]]:
    """Return the training lines and every tenth line (indexes 9, 19, ...) as the held-out lines."""
    train = [line for index, line in enumerate(lines) if index % 10 != 9]
    held_out = [line for index, line in enumerate(lines) if index % 10 == 9]
    return train, held_out


def train_hf_bpe(lines: list[str], *, vocab_size: int):
    """Train a ``tokenizers`` byte-level BPE model with the GPT-2 regex and the 256-byte initial alphabet."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tokenizer.train_from_iterator(lines, trainer=trainer)
    return tokenizer


def time_hf_bpe(lines: list[str]) -> dict[int, float]:
    seconds = {}
    for vocab_size in BPE_VOCAB_SIZES:
        start = time.perf_counter()
        train_hf_bpe(lines, vocab_size=vocab_size)
        seconds[vocab_size] = time.perf_counter() - start
    return seconds


def time_hf_bpe_in_child(args: argparse.Namespace, *, threads: int) -> dict[int, float]:
    """Run this script with ``--only-hf-threads`` and RAYON_NUM_THREADS set, and return its timings."""
    command = [
        sys.executable, __file__, "--data-dir", str(args.data_dir),
        "--fraction", str(args.fraction), "--only-hf-threads", str(threads),
    ]
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    output = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    return {int(vocab_size): seconds for vocab_size, seconds in json.loads(output).items()}


def train_naive_bpe(chunks: Counter[bytes], *, num_merges: int, seconds: float) -> list[Pair]:
    """Learn BPE merges by recounting every pair of every chunk after each merge; stop after ``seconds``.

    Ties go to the smallest pair, as in ``bpe_training.train_merges``, so both learn the same merges.
    """
    words = {tuple(chunk): count for chunk, count in chunks.items()}
    merges: list[Pair] = []
    deadline = time.perf_counter() + seconds
    while len(merges) < num_merges and time.perf_counter() < deadline:
        pair_counts: Counter[Pair] = Counter()
        for word, count in words.items():
            for pair, occurrences in count_pairs(word).items():
                pair_counts[pair] += occurrences * count
        if not pair_counts:
            break
        best = min(pair_counts, key=lambda pair: (-pair_counts[pair], pair))
        new_id = 256 + len(merges)
        merges.append(best)
        words = {tuple(merge_pair(word, pair=best, new_id=new_id)): count for word, count in words.items()}
    return merges


def train_hf_wordpiece(lines: list[str], *, vocab_size: int):
    """Train a ``tokenizers`` WordPiece model behind BERT's normalizer and pre-tokenizer."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.WordPiece(unk_token=UNK_TOKEN))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), continuing_subword_prefix="##",
        show_progress=False,
    )
    tokenizer.train_from_iterator(lines, trainer=trainer)
    return tokenizer


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def bench_bpe(args: argparse.Namespace, train: list[str]) -> dict[int, BPETokenizer]:
    print("\n## BPE training, GPT-2 pattern, 256 byte tokens + merges")
    one_thread = time_hf_bpe_in_child(args, threads=1)
    default_threads = time_hf_bpe(train)
    print(f"{'vocab':>6} {'minbert s':>10} {'hf 1 thread s':>14} {'hf default s':>13} "
          f"{'minbert / hf 1 thread':>22} {'minbert / hf default':>21}")
    tokenizers = {}
    for vocab_size in BPE_VOCAB_SIZES:
        tokenizers[vocab_size], seconds = timed(BPETokenizer.train, train, vocab_size=vocab_size)
        print(f"{vocab_size:>6} {seconds:>10.2f} {one_thread[vocab_size]:>14.2f} {default_threads[vocab_size]:>13.2f} "
              f"{seconds / one_thread[vocab_size]:>21.2f}x {seconds / default_threads[vocab_size]:>20.2f}x")
    return tokenizers


def bench_naive(args: argparse.Namespace, train: list[str]) -> None:
    lines = train[: max(1, len(train) // 100)]
    chunks = Counter(chunk.encode("utf-8") for line in lines for chunk in split_chunks(line, pattern="gpt2"))
    naive_merges, naive_seconds = timed(
        train_naive_bpe, chunks, num_merges=NAIVE_VOCAB_SIZE - 256, seconds=args.naive_seconds
    )
    num_merges = len(naive_merges)
    tokenizer, minbert_seconds = timed(BPETokenizer.train, lines, vocab_size=256 + num_merges)
    print(f"\n## Naive BPE (recounts all pairs after every merge) on the first 1% of training lines: "
          f"{len(lines)} lines, {len(chunks)} distinct chunks")
    print(f"target {NAIVE_VOCAB_SIZE - 256} merges, naive reached {num_merges} within {args.naive_seconds:.0f} s; "
          f"minbert trained to the same {num_merges} merges")
    print(f"naive {naive_seconds:.2f} s, minbert {minbert_seconds:.3f} s, speed-up {naive_seconds / minbert_seconds:.0f}x; "
          f"same merges: {list(tokenizer.merges) == naive_merges}")


def bench_encode(held_out: list[str], tokenizer: BPETokenizer) -> None:
    from tokenizers import Tokenizer

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "tokenizer.json"
        save_tokenizer_json(tokenizer, path)
        hf_tokenizer = Tokenizer.from_file(str(path))

    minbert_ids, minbert_seconds = timed(lambda: [tokenizer.encode(line) for line in held_out])
    hf_ids, hf_seconds = timed(lambda: [hf_tokenizer.encode(line).ids for line in held_out])
    batch, batch_seconds = timed(hf_tokenizer.encode_batch, held_out)
    batch_ids = [encoding.ids for encoding in batch]
    num_tokens = sum(map(len, minbert_ids))
    print(f"\n## BPE encoding of {len(held_out)} held-out lines, vocab {tokenizer.vocab_size}, {num_tokens} tokens")
    print(f"ids equal, per call: {minbert_ids == hf_ids}; batch: {minbert_ids == batch_ids}")
    print(f"{'method':<30} {'seconds':>8} {'tokens/s':>12}")
    for name, seconds in (("minbert encode, per line", minbert_seconds), ("tokenizers encode, per line", hf_seconds),
                          ("tokenizers encode_batch", batch_seconds)):
        print(f"{name:<30} {seconds:>8.3f} {num_tokens / seconds:>12,.0f}")


def bench_wordpiece(train: list[str], held_out: list[str]) -> None:
    num_words = sum(len(basic_tokenize(line)) for line in held_out)
    print(f"\n## WordPiece training on {len(train)} lines; held-out: {len(held_out)} lines, {num_words} words")
    print(f"{'vocab':>6} {'trainer':<22} {'seconds':>8} {'tokens/word':>12} {'[UNK] rate':>11}")
    for vocab_size in WORDPIECE_VOCAB_SIZES:
        rows = []
        for score in ("count", "likelihood"):
            minbert, seconds = timed(WordPieceTokenizer.train, train, vocab_size=vocab_size, score=score)
            ids = [token_id for line in held_out for token_id in minbert.text_to_ids(line)]
            rows.append((f"minbert, {score}", seconds, ids, ids.count(minbert.unk_token_id)))

        hf, seconds = timed(train_hf_wordpiece, train, vocab_size=vocab_size)
        ids = [token_id for encoding in hf.encode_batch(held_out) for token_id in encoding.ids]
        rows.append(("tokenizers", seconds, ids, ids.count(hf.token_to_id(UNK_TOKEN))))

        for name, seconds, ids, unk in rows:
            print(f"{vocab_size:>6} {name:<22} {seconds:>8.2f} {len(ids) / num_words:>12.3f} "
                  f"{unk / len(ids):>11.4%}")


def main() -> None:
    args = parse_args()
    if not 0 < args.fraction <= 1:
        raise SystemExit(f"error: --fraction={args.fraction} must be in (0, 1]")
    lines = read_lines(args.data_dir)
    lines = lines[: max(10, int(len(lines) * args.fraction))]
    train, held_out = split_held_out(lines)

    if args.only_hf_threads is not None:
        print(json.dumps(time_hf_bpe(train)))
        return

    import tokenizers

    num_bytes = sum(len(line.encode("utf-8")) for line in train)
    print(f"{len(lines)} lines from {args.data_dir}: {len(train)} training ({num_bytes / 1e6:.1f} MB), "
          f"{len(held_out)} held out; Python {platform.python_version()}, tokenizers {tokenizers.__version__}, "
          f"{os.cpu_count()} CPUs ({platform.machine()})")
    bpe_tokenizers = bench_bpe(args, train)
    bench_naive(args, train)
    bench_encode(held_out, bpe_tokenizers[max(BPE_VOCAB_SIZES)])
    bench_wordpiece(train, held_out)


if __name__ == "__main__":
    main()
