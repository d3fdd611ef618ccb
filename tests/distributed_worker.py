"""Fine-tune a tiny BERT on this rank; tests/test_distributed.py runs it under torchrun and in one process.

Usage under torchrun: ``distributed_worker.py MODEL_DIR OUTPUT_DIR POOLING [FAILING_RANK]``. Each rank
writes ``rank{R}.safetensors`` (its final weights) and ``rank{R}.json`` (its epoch history) to OUTPUT_DIR.
With FAILING_RANK, that rank raises before training while the others go on into the first collective.
"""

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file

from conftest import TINY_WORDS, toy_sentiment_rows
from minbert import BertConfig, BertModel
from minbert.model.pretrained import load_tokenizer
from minbert.training.batches import EncodedTexts, encode_texts
from minbert.training.classifier import SentenceClassifier
from minbert.training.config import FinetuneConfig
from minbert.training.distributed import DistributedContext, context_from_env, process_group
from minbert.training.finetune import FinetuneResult, finetune

# 49 texts in batches of 8 end each epoch with a batch of one text, so rank 1 of 2 gets an empty slice.
TRAIN_TEXTS = 49
BATCH_SIZE = 8


def write_tiny_model_without_dropout(folder: Path) -> Path:
    """Save a random 2-layer BERT whose dropout probabilities are all 0, so ranks draw no masks."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *TINY_WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    return folder


def toy_texts(model_dir: Path, count: int, seed: int) -> EncodedTexts:
    rows = toy_sentiment_rows(count, seed)
    return encode_texts(load_tokenizer(model_dir), [text for text, _ in rows], [label for _, label in rows],
                        max_length=32)


def train_tiny(model_dir: Path, *, pooling: str,
               context: DistributedContext | None) -> tuple[SentenceClassifier, FinetuneResult]:
    """Fine-tune a fresh classifier on the tiny model for 2 epochs, with dropout 0 everywhere."""
    torch.manual_seed(0)
    model = SentenceClassifier(BertModel.from_pretrained(model_dir), num_labels=2, pooling=pooling, dropout=0.0)
    # No gradient clipping: it would rescale a gradient of norm above 1 and so hide a wrong loss scale.
    config = FinetuneConfig(batch_size=BATCH_SIZE, epochs=2, lr=1e-3, dropout=0.0, max_grad_norm=0.0, seed=5)
    result = finetune(model, toy_texts(model_dir, TRAIN_TEXTS, seed=1), toy_texts(model_dir, 16, seed=2), config,
                      pad_id=0, progress=False, context=context)
    return model, result


def main(model_dir: str, output_dir: str, pooling: str, failing_rank: str | None = None) -> None:
    context = context_from_env(os.environ)
    assert context is not None, "run this file under torchrun"
    with process_group(context, device=torch.device("cpu")):
        if failing_rank is not None and context.rank == int(failing_rank):
            raise RuntimeError(f"rank {context.rank} fails on purpose")
        model, result = train_tiny(Path(model_dir), pooling=pooling, context=context)
    output = Path(output_dir)
    save_file({name: tensor.contiguous() for name, tensor in model.state_dict().items()},
              output / f"rank{context.rank}.safetensors")
    history = [asdict(record) for record in result.history]
    (output / f"rank{context.rank}.json").write_text(json.dumps(history), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
