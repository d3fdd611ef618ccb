"""Sentence embedding throughput: ``SentenceEncoder.encode`` against sentence-transformers' ``encode``.

Both run in this process on the same folder (all-MiniLM-L6-v2 by default),
on every SST train sentence, batch 32, normalised as the model folder's settings
specify.
Each side is timed ``--repeats`` times, alternating, and the best time
counts. Because the speed of a shared machine drifts over minutes, the
median ratio of the back-to-back pairs is printed too. Prints sentences per
second, the ratio, the largest difference between the two embeddings, the
peak memory of each, and the achieved fraction of a plain matmul's
throughput on the dense layers of real tokens.

Peak memory is the growth of the process's peak resident set (VmHWM) during
one ``encode`` call: the peak is reset through /proc/self/clear_refs before
each call, so this needs Linux.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_embeddings.py
"""

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from common import data_dir, dense_flops_per_token, matmul_gflops, read_sst
from minbert.embeddings import SentenceEncoder
from minbert.model.pretrained import default_model_dir


def resident_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def measure(encode, sentences: list[str]) -> tuple[float, float, np.ndarray]:
    """Return seconds, peak memory growth in MiB, and the embeddings of one ``encode`` call."""
    Path("/proc/self/clear_refs").write_text("5")       # resets VmHWM to the current resident set
    before = resident_kib("VmRSS")
    started = time.perf_counter()
    embeddings = encode(sentences)
    seconds = time.perf_counter() - started
    return seconds, (resident_kib("VmHWM") - before) / 1024, embeddings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--model", help="sentence-transformers or BERT folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N train sentences")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    from sentence_transformers import SentenceTransformer, __version__ as st_version

    folder = args.model or str(default_model_dir())
    sentences, _ = read_sst(data_dir(args.data_dir) / "ids-sst-train.csv")
    sentences = sentences[: args.limit]
    ours = SentenceEncoder.from_pretrained(folder)
    reference = SentenceTransformer(folder, device="cpu")
    sides = {
        "minbert": lambda texts: ours.encode(texts, batch_size=args.batch_size, show_progress=False),
        "sentence-transformers": lambda texts: reference.encode(texts, batch_size=args.batch_size,
                                                                show_progress_bar=False),
    }
    for encode in sides.values():
        encode(sentences[:64])

    best = {name: (float("inf"), 0.0) for name in sides}
    outputs = {}
    pair_ratios = []
    for _ in range(args.repeats):
        times = {}
        for name, encode in sides.items():
            times[name], peak, outputs[name] = measure(encode, sentences)
            best[name] = (min(best[name][0], times[name]), max(best[name][1], peak))
        pair_ratios.append(times["sentence-transformers"] / times["minbert"])

    config = ours.encoder.config
    tokens = sum(len(ids) for ids in ours.tokenize(sentences))
    flops = tokens * dense_flops_per_token(config.hidden_size, config.intermediate_size, config.num_hidden_layers)
    ceiling = matmul_gflops(config.hidden_size, config.intermediate_size)
    difference = np.abs(outputs["minbert"] - outputs["sentence-transformers"]).max()

    print(f"{len(sentences)} SST train sentences, {tokens} real tokens, batch {args.batch_size}, "
          f"{args.threads} threads, sentence-transformers {st_version}, torch {torch.__version__}")
    print(f"matmul ceiling {ceiling:.1f} GFLOP/s; dense layers {flops / tokens / 1e6:.1f} MFLOP per token; "
          f"largest embedding difference {difference:.2e}")
    print(f"{'encoder':<24}{'seconds':>9}{'sent/s':>9}{'GFLOP/s':>9}{'of ceiling':>11}{'peak MiB':>10}{'ratio':>7}")
    for name, (seconds, peak) in best.items():
        gflops = flops / seconds / 1e9
        ratio = best["sentence-transformers"][0] / seconds
        print(f"{name:<24}{seconds:>9.2f}{len(sentences) / seconds:>9.1f}{gflops:>9.1f}{gflops / ceiling:>11.0%}"
              f"{peak:>10.0f}{ratio:>7.2f}")
    pairs = ", ".join(f"{ratio:.2f}" for ratio in pair_ratios)
    print(f"ratio of each back-to-back pair: {pairs}; median {statistics.median(pair_ratios):.2f}")


if __name__ == "__main__":
    main()
