"""``minbert evaluate``: score a fine-tuned checkpoint on a labelled file, or sentence embeddings on STS."""

import argparse
import json
import math
import sys
from pathlib import Path

from minbert.cli.options import (add_column_options, add_data_dir_option, add_model_option, add_progress_option,
                                 check_batch_size, load_sentence_encoder, path_value)
from minbert.data.pairs import STS_SCORE_RANGE, read_scored_pairs
from minbert.data.readers import read_labelled
from minbert.data.tasks import TASKS, resolve_data_dir, task_files
from minbert.embeddings.sts import evaluate_sts
from minbert.errors import ConfigError, DataError
from minbert.training.batches import encode_texts
from minbert.training.checkpoint import load_classifier
from minbert.training.evaluate import accuracy, predict_logits

STS_TASK = "sts"
STS_DEV_FILE = "sts-dev.csv"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate", help="accuracy of a fine-tuned checkpoint, or STS correlation of sentence embeddings",
        description="Score a checkpoint written by `minbert finetune` on --file, or on the dev file of --task. "
                    "With --task sts, embed both sentences of every sts-dev.csv pair with the sentence encoder "
                    "of --model and print the Spearman and Pearson correlation of their cosine similarity "
                    "with the gold scores.",
    )
    parser.add_argument("--checkpoint", metavar="DIR", type=path_value, help="folder written by minbert finetune")
    parser.add_argument("--file", metavar="FILE", type=path_value, help="labelled CSV, TSV or JSONL file")
    parser.add_argument("--task", choices=[*sorted(TASKS), STS_TASK],
                        help="score the dev file of this task instead of --file")
    add_model_option(parser)
    add_column_options(parser, label=True)
    add_data_dir_option(parser, files=f"ids-sst-dev.csv, ids-cfimdb-dev.csv or {STS_DEV_FILE}, the dev file "
                                      "of --task")
    parser.add_argument("--batch-size", type=int, metavar="N", default=64,
                        help="texts per batch (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    add_progress_option(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if args.task == STS_TASK:
        return run_sts(args)
    if not args.checkpoint:
        raise ConfigError("--checkpoint DIR is required (except with --task sts)")
    if args.model:
        raise ConfigError("--model applies to --task sts only, because a --checkpoint folder contains its own model")
    if bool(args.file) == bool(args.task):
        raise ConfigError("give exactly one of --file FILE or --task NAME")
    check_batch_size(args.batch_size)
    if args.task:
        spec = TASKS[args.task]
        _, path = task_files(args.task, resolve_data_dir(args.data_dir))
        text_column, label_column = spec.text_column, spec.label_column
    else:
        path, text_column, label_column = Path(args.file), args.text_column, args.label_column

    model, tokenizer, info = load_classifier(args.checkpoint)
    if args.task and info.task != args.task:
        print(f"warning: the checkpoint was trained on {info.task!r}, not {args.task!r}", file=sys.stderr)
    rows = read_labelled(path, text_column=text_column, label_column=label_column,
                         num_labels=len(info.label_names))
    encoded = encode_texts(tokenizer, [row.text for row in rows], [row.label for row in rows],
                           max_length=info.max_length)
    logits = predict_logits(model, encoded, batch_size=args.batch_size, pad_id=tokenizer.pad_token_id)
    score = accuracy(logits, encoded.labels)
    if args.json:
        print(json.dumps({"file": str(path), "examples": len(rows), "accuracy": score}))
    else:
        print(f"{path}: accuracy {score:.4f} on {len(rows)} examples")
    return 0


def run_sts(args: argparse.Namespace) -> int:
    """Print the STS dev correlations of the sentence encoder of --model (zero-shot for a plain BERT folder)."""
    if args.checkpoint or args.file:
        raise ConfigError("--task sts takes --model DIR, not --checkpoint or --file")
    path = resolve_data_dir(args.data_dir) / STS_DEV_FILE
    pairs = read_scored_pairs(path, score_range=STS_SCORE_RANGE)
    if len(pairs) < 2:
        raise DataError(f"{path}: only one sentence pair (expected at least 2 for a correlation)")
    check_batch_size(args.batch_size)
    encoder, folder = load_sentence_encoder(args.model)
    result = evaluate_sts(encoder, pairs, batch_size=args.batch_size, show_progress=None if args.progress else False)
    if math.isnan(result.spearman) or math.isnan(result.pearson):
        raise DataError(f"{path}: correlation is undefined because all gold scores, or all cosines, are equal "
                        "(expected varied pairs)")
    if args.json:
        print(json.dumps({"file": str(path), "model": str(folder), "pairs": result.pairs,
                          "spearman": result.spearman, "pearson": result.pearson}))
    else:
        print(f"{path}: Spearman {result.spearman:.4f}, Pearson {result.pearson:.4f} "
              f"on {result.pairs} pairs ({folder})")
    return 0
