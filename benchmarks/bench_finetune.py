"""Fine-tuning throughput: minbert's training loop against the usual transformers recipe.

Both train all weights of the same checkpoint (all-MiniLM-L6-v2 by default) on
the same SST-5 train sentences, batch 32, with the same thread count, in this
process:

- minbert: ``minbert.training.finetune`` (length-bucketed batches, packed real
  tokens, AdamW, linear warm-up), as ``minbert finetune`` runs it;
- transformers: ``BertForSequenceClassification`` in a plain PyTorch loop over
  shuffled batches padded to their longest row, tokenised per batch by
  ``BertTokenizerFast``, with ``torch.optim.AdamW``.

Prints training examples per second and the ratio. ``--examples`` trains on the
first N shuffled sentences (one pass); ``--examples 0`` runs a whole epoch.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_finetune.py --examples 1024
"""

import argparse
import random
import time

import torch
import transformers

from common import data_dir, read_sst
from minbert import BertModel
from minbert.model.pretrained import default_model_dir, load_tokenizer
from minbert.training.batches import encode_texts
from minbert.training.classifier import SentenceClassifier
from minbert.training.config import FinetuneConfig
from minbert.training.finetune import finetune


def run_minbert(folder: str, sentences: list[str], labels: list[int], batch_size: int) -> float:
    tokenizer = load_tokenizer(folder)
    torch.manual_seed(0)
    model = SentenceClassifier(BertModel.from_pretrained(folder), num_labels=5)
    train = encode_texts(tokenizer, sentences, labels, max_length=128)
    dev = encode_texts(tokenizer, sentences[:batch_size], labels[:batch_size], max_length=128)
    config = FinetuneConfig(epochs=1, batch_size=batch_size, lr=2e-5)
    started = time.perf_counter()
    result = finetune(model, train, dev, config, pad_id=tokenizer.pad_token_id, progress=False)
    print(f"  minbert: {time.perf_counter() - started:.1f} s for the pass and the dev scoring")
    return result.history[0].examples_per_second


def run_transformers(folder: str, sentences: list[str], labels: list[int], batch_size: int) -> float:
    tokenizer = transformers.BertTokenizerFast.from_pretrained(folder)
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification.from_pretrained(folder, num_labels=5).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    order = list(range(len(sentences)))
    random.Random(0).shuffle(order)

    started = time.perf_counter()
    for start in range(0, len(order), batch_size):
        indices = order[start:start + batch_size]
        batch = tokenizer([sentences[i] for i in indices], padding=True, truncation=True, max_length=128,
                          return_tensors="pt")
        loss = model(**batch, labels=torch.tensor([labels[i] for i in indices])).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return len(order) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir")
    parser.add_argument("--model", help="BERT folder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--examples", type=int, default=1024, help="train sentences to use; 0 for all")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    folder = args.model or str(default_model_dir())
    sentences, labels = read_sst(data_dir(args.data_dir) / "ids-sst-train.csv")
    order = list(range(len(sentences)))
    random.Random(1).shuffle(order)
    if args.examples:
        order = order[: args.examples]
    sentences, labels = [sentences[i] for i in order], [labels[i] for i in order]

    print(f"{len(sentences)} SST train sentences, batch {args.batch_size}, {args.threads} threads")
    ours = run_minbert(folder, sentences, labels, args.batch_size)
    theirs = run_transformers(folder, sentences, labels, args.batch_size)
    print(f"{'loop':<34}{'examples/s':>11}{'ratio':>7}")
    print(f"{'transformers plain loop':<34}{theirs:>11.1f}{1.0:>7.2f}")
    print(f"{'minbert finetune':<34}{ours:>11.1f}{ours / theirs:>7.2f}")


if __name__ == "__main__":
    main()
