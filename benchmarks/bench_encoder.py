"""Encoder forward throughput: minbert's BertModel against transformers' (sdpa and eager).

All three run in this process on the same weights (all-MiniLM-L6-v2 by default)
and the same padded batches: SST dev sentences in file order, batch 32,
tokenised once by transformers' BertTokenizerFast. Prints real tokens per
second, the ratio to transformers sdpa, and the achieved fraction of a plain
matmul's throughput on the dense layers of real tokens.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_encoder.py --threads 2
"""

import argparse
import time

import torch
import transformers

from common import data_dir, dense_flops_per_token, matmul_gflops, read_sst
from minbert import BertModel
from minbert.model.pretrained import default_model_dir


def time_model(forward, batches, repeats: int) -> float:
    """Best wall time over ``repeats`` passes of ``forward`` over all batches."""
    best = float("inf")
    with torch.inference_mode():
        forward(batches[0])
        for _ in range(repeats):
            started = time.perf_counter()
            for batch in batches:
                forward(batch)
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--model", help="BERT folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, default=None, help="use only the first N dev sentences")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    folder = args.model or str(default_model_dir())
    sentences, _ = read_sst(data_dir(args.data_dir) / "ids-sst-dev.csv")
    sentences = sentences[: args.limit]
    tokenizer = transformers.BertTokenizerFast.from_pretrained(folder)
    batches = [tokenizer(sentences[start:start + args.batch_size], padding=True, return_tensors="pt")
               for start in range(0, len(sentences), args.batch_size)]
    real_tokens = sum(int(batch["attention_mask"].sum()) for batch in batches)
    padded_tokens = sum(batch["attention_mask"].numel() for batch in batches)

    ours = BertModel.from_pretrained(folder).eval()
    config = ours.config
    candidates = {
        "minbert": lambda batch: ours(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"]),
    }
    for implementation in ("sdpa", "eager"):
        reference = transformers.BertModel.from_pretrained(folder, attn_implementation=implementation).eval()
        candidates[f"transformers {implementation}"] = lambda batch, model=reference: model(**batch)

    flops_per_token = dense_flops_per_token(config.hidden_size, config.intermediate_size, config.num_hidden_layers)
    ceiling = matmul_gflops(config.hidden_size, config.intermediate_size)
    print(f"{len(sentences)} sentences in {len(batches)} batches of {args.batch_size}; {real_tokens} real tokens, "
          f"{padded_tokens} with padding ({1 - real_tokens / padded_tokens:.0%} padding); {args.threads} threads")
    print(f"matmul ceiling: {ceiling:.1f} GFLOP/s; dense layers: {flops_per_token / 1e6:.1f} MFLOP per token")
    print(f"{'model':<22}{'seconds':>9}{'sent/s':>9}{'tokens/s':>10}{'GFLOP/s':>9}{'of ceiling':>11}{'ratio':>7}")
    seconds = {name: time_model(forward, batches, args.repeats) for name, forward in candidates.items()}
    for name, elapsed in seconds.items():
        gflops = real_tokens * flops_per_token / elapsed / 1e9
        print(f"{name:<22}{elapsed:>9.2f}{len(sentences) / elapsed:>9.1f}{real_tokens / elapsed:>10.0f}"
              f"{gflops:>9.1f}{gflops / ceiling:>11.0%}{seconds['transformers sdpa'] / elapsed:>7.2f}")


if __name__ == "__main__":
    main()
