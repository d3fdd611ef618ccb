"""``minbert finetune``: fine-tune a pretrained BERT for sentence classification.

Started by ``torchrun --nproc_per_node W -m minbert finetune ...`` it trains on
W processes (see ``minbert.training.distributed``), and only rank 0 prints.
"""

import argparse
import json
import os
from dataclasses import asdict
from pathlib import Path

import torch

from minbert.atomic import write_text_atomic
from minbert.cli import multitask
from minbert.cli.options import (FINETUNE_FLAGS, add_column_options, add_data_dir_option, add_model_option,
                                 add_progress_option, check_max_length, load_encoder, naming_flags, path_value)
from minbert.data.readers import read_labelled
from minbert.data.tasks import TASKS, resolve_data_dir, task_files
from minbert.errors import ConfigError
from minbert.outputs import MODEL_FOLDER, check_output_folder, model_input, output_path
from minbert.training.batches import encode_texts
from minbert.training.checkpoint import ClassifierInfo, save_classifier
from minbert.training.classifier import POOLINGS, SentenceClassifier
from minbert.training.config import MODES, FinetuneConfig
from minbert.training.distributed import check_config, context_from_env, process_group
from minbert.training.finetune import EpochRecord, finetune

DEFAULTS = FinetuneConfig()
# A classifier with more classes than this is almost surely a typo, and its
# weights alone (K x hidden size floats) would not fit in memory much beyond it.
MAX_LABELS = 100_000


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a pretrained BERT on SST-5, CFIMDB or your own labelled file",
        description="Fine-tune a pretrained BERT for sentence classification. The checkpoint with the best dev "
                    "accuracy is saved to --output (safetensors, config.json, vocab.txt) with metrics.json.",
    )
    parser.add_argument("--task", choices=[*sorted(TASKS), "multitask"], default=None,
                        help="named task whose train/dev files are read from --data-dir; multitask trains "
                             "SST-5, Quora and STS with one shared encoder")
    parser.add_argument("--train", metavar="FILE", type=path_value,
                        help="labelled train file (CSV, TSV or JSONL) instead of --task")
    parser.add_argument("--dev", metavar="FILE", type=path_value, help="labelled dev file, with --train")
    parser.add_argument("--num-labels", type=int, metavar="K", help="number of classes for --train files")
    add_column_options(parser, label=True)
    add_data_dir_option(parser, files="ids-sst-train.csv and ids-sst-dev.csv for sst, ids-cfimdb-train.csv "
                                      "and ids-cfimdb-dev.csv for cfimdb, and for multitask the sst files, "
                                      "quora-dev.csv, sts-train.csv and sts-dev.csv")
    add_model_option(parser)
    parser.add_argument("--output", metavar="DIR", type=path_value,
                        help="checkpoint folder, replaced whole at each best epoch, so it must be new, empty or "
                             "contain only the files minbert writes in a model folder (default: runs/TASK-MODE). "
                             "With --task multitask: a run folder that may contain only metrics.json and the "
                             "checkpoint folder best/ (default: runs/multitask-TASKS)")
    parser.add_argument("--mode", choices=MODES, default=DEFAULTS.mode,
                        help="full-model trains every weight; last-linear-layer freezes the encoder "
                             "(default: %(default)s)")
    parser.add_argument("--pooling", choices=POOLINGS, default=DEFAULTS.pooling,
                        help="sentence representation: mean of token states or the pooled [CLS] "
                             "(default: %(default)s)")
    parser.add_argument("--epochs", type=int, help="passes over the train set (default: 3 full-model, "
                                                   "20 last-linear-layer)")
    parser.add_argument("--lr", type=float, help="peak learning rate (default: 2e-4 full-model, "
                                                 "3e-3 last-linear-layer)")
    parser.add_argument("--batch-size", type=int, metavar="N", default=DEFAULTS.batch_size,
                        help="texts per batch, over all processes under torchrun (default: %(default)s)")
    parser.add_argument("--max-length", type=int, default=DEFAULTS.max_length,
                        help="tokens per text including [CLS] and [SEP]; longer texts are cut (default: %(default)s)")
    parser.add_argument("--warmup-ratio", type=float, default=DEFAULTS.warmup_ratio,
                        help="fraction of updates with linearly rising lr (default: %(default)s)")
    parser.add_argument("--weight-decay", type=float, default=DEFAULTS.weight_decay,
                        help="AdamW decoupled weight decay (default: %(default)s)")
    parser.add_argument("--dropout", type=float, default=DEFAULTS.dropout,
                        help="dropout on the sentence representation (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed, help="random seed (default: %(default)s)")
    parser.add_argument("--max-train-examples", type=int, metavar="N",
                        help="train on the first N rows of the train file, in file order, for a short run; "
                             "the dev set stays whole. With --task multitask: N examples per task, drawn once "
                             "with --seed (default: every example)")
    add_progress_option(parser)
    multitask.add_options(parser)
    parser.set_defaults(run=run)


def resolve_files(args: argparse.Namespace) -> tuple[Path, Path, str, str, tuple[str, ...], str]:
    """Return train file, dev file, text column, label column, label names and run name."""
    if args.task and (args.train or args.dev):
        raise ConfigError("give either --task or --train/--dev, not both")
    if args.task:
        spec = TASKS[args.task]
        train_file, dev_file = task_files(args.task, resolve_data_dir(args.data_dir))
        return train_file, dev_file, spec.text_column, spec.label_column, spec.label_names, args.task
    if not (args.train and args.dev):
        raise ConfigError("no data: give --task sst|cfimdb, or both --train FILE and --dev FILE")
    if args.num_labels is None:
        raise ConfigError("--num-labels K is required with --train: give the number of classes")
    if not 2 <= args.num_labels <= MAX_LABELS:
        raise ConfigError(f"--num-labels {args.num_labels} is invalid: expected 2 to {MAX_LABELS} classes")
    names = tuple(str(label) for label in range(args.num_labels))
    return Path(args.train), Path(args.dev), args.text_column, args.label_column, names, Path(args.train).stem


def check_output(output: Path, *, model: str | None, data_files: list[Path]) -> None:
    """Check before any work that --output may take the checkpoint, which replaces the folder whole.

    Raises OutputError when the folder contains anything but a model folder's
    files, when it is or contains the model or a data file the run reads, or
    when it cannot be written.
    """
    inputs = [model_input(model), *((path, "a data file") for path in data_files)]
    check_output_folder(output, MODEL_FOLDER, flag="--output", kind="checkpoint folder", inputs=inputs,
                        replaced_whole=True)


def run(args: argparse.Namespace) -> int:
    if multitask.is_requested(args):
        return multitask.run(args)
    with naming_flags(FINETUNE_FLAGS):
        config = FinetuneConfig(
            mode=args.mode, pooling=args.pooling, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
            weight_decay=args.weight_decay, warmup_ratio=args.warmup_ratio, dropout=args.dropout,
            max_length=args.max_length, seed=args.seed, max_train_examples=args.max_train_examples,
        )
    context = context_from_env(os.environ)
    if context is not None:
        check_config(config, context)
    is_main = context is None or context.is_main
    train_file, dev_file, text_column, label_column, label_names, run_name = resolve_files(args)
    output = Path(f"runs/{run_name}-{config.mode}") if args.output is None else output_path(args.output, "--output")
    check_output(output, model=args.model, data_files=[train_file, dev_file])

    # Read and check the data before the model is loaded, so bad files fail fast.
    read = dict(text_column=text_column, label_column=label_column, num_labels=len(label_names))
    train_rows = read_labelled(train_file, **read)
    dev_rows = read_labelled(dev_file, **read)
    rows_in_train_file = len(train_rows)
    # --max-train-examples keeps the first N rows in file order, and each epoch shuffles only those.
    train_rows = train_rows[:config.max_train_examples]

    encoder, tokenizer, model_dir = load_encoder(args.model)
    check_max_length(config.max_length, encoder)
    train = encode_texts(tokenizer, [row.text for row in train_rows], [row.label for row in train_rows],
                         max_length=config.max_length)
    dev = encode_texts(tokenizer, [row.text for row in dev_rows], [row.label for row in dev_rows],
                       max_length=config.max_length)

    torch.manual_seed(config.seed)
    model = SentenceClassifier(encoder, num_labels=len(label_names), pooling=config.pooling, dropout=config.dropout)
    info = ClassifierInfo(label_names=label_names, pooling=config.pooling, max_length=config.max_length,
                          task=run_name)
    resolved = config.resolved()
    if is_main:
        train_size = str(len(train))
        if len(train) < rows_in_train_file:
            train_size = f"first {len(train)} of {rows_in_train_file}"
        print(f"fine-tuning {model_dir} on {run_name} ({train_size} train, {len(dev)} dev texts), "
              f"mode {config.mode}, epochs {resolved.epochs}, lr {resolved.lr:g}; checkpoint: {output}"
              + (f", {context.world_size} processes" if context else ""), flush=True)

    history: list[EpochRecord] = []

    def report_epoch(trained: SentenceClassifier, record: EpochRecord, improved: bool) -> None:
        history.append(record)
        best = max(history, key=lambda item: item.dev_accuracy)
        metrics = {
            "task": run_name, "model": str(model_dir), "config": asdict(resolved),
            "best_epoch": best.epoch, "best_dev_accuracy": best.dev_accuracy,
            "history": [asdict(item) for item in history],
        }
        metrics_text = json.dumps(metrics, indent=2) + "\n"
        if improved:
            save_classifier(output, trained, tokenizer, info, extra_files={"metrics.json": metrics_text})
        else:
            write_text_atomic(output / "metrics.json", metrics_text)
        print(f"epoch {record.epoch}: train loss {record.train_loss:.4f}  dev accuracy {record.dev_accuracy:.4f}  "
              f"{record.seconds:.0f} s  {record.examples_per_second:.1f} examples/s"
              + ("  (best, saved)" if improved else ""), flush=True)

    # finetune trains on the CPU.
    with process_group(context, device=torch.device("cpu")):
        result = finetune(model, train, dev, config, pad_id=tokenizer.pad_token_id, on_epoch_end=report_epoch,
                          progress=args.progress, context=context)
    if not is_main:
        return 0
    if result.encoding_seconds:
        print(f"the frozen encoder encoded every text once, in {result.encoding_seconds:.0f} s; "
              "the examples/s above count the linear layer's training only")
    print(f"best dev accuracy {result.best_dev_accuracy:.4f} at epoch {result.best_epoch}; checkpoint in {output}")
    return 0
