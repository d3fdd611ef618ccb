"""``minbert finetune --task multitask``: SST-5, Quora and STS with one shared encoder.

``--tasks sst,quora,sts`` picks the tasks (all three by default), so the same
code trains the single-task baselines. The output folder gets ``metrics.json``
after every epoch and ``best/``, the checkpoint of the best mean dev metric.
"""

import argparse
import json
import math
import os
from dataclasses import asdict
from pathlib import Path

import torch

from minbert.atomic import write_text_atomic
from minbert.cli.options import FINETUNE_FLAGS, check_max_length, load_encoder, naming_flags
from minbert.data.multitask_data import MULTITASK_TASKS, load_task, parse_task_names
from minbert.data.splits import QUORA_DEV_FRACTION
from minbert.data.tasks import resolve_data_dir
from minbert.errors import ConfigError
from minbert.outputs import MODEL_FOLDER, MULTITASK_RUN_FOLDER, check_output_folder, model_input, output_path
from minbert.training.distributed import context_from_env
from minbert.training.multitask import (MultitaskConfig, MultitaskEpoch, MultitaskModel, task_probabilities,
                                        train_multitask)
from minbert.training.multitask_batches import encode_examples, subsample
from minbert.training.multitask_checkpoint import save_multitask

DEFAULTS = MultitaskConfig()


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that only ``--task multitask`` reads to the finetune parser."""
    parser.add_argument("--tasks", metavar="LIST",
                        help="with --task multitask: comma-separated tasks to train together, from "
                             f"{','.join(MULTITASK_TASKS)} (default: all three)")


def is_requested(args: argparse.Namespace) -> bool:
    """Return whether the finetune arguments ask for the multitask model or set its --tasks option."""
    return args.task == "multitask" or args.tasks is not None


def build_config(args: argparse.Namespace) -> MultitaskConfig:
    """Map the finetune arguments onto a MultitaskConfig, rejecting those that do not apply."""
    if args.task != "multitask":
        raise ConfigError("--tasks applies only to --task multitask")
    if args.train or args.dev:
        raise ConfigError("--task multitask reads its files from --data-dir; drop --train/--dev")
    if args.mode != "full-model":
        raise ConfigError(f"--mode {args.mode} is not supported with --task multitask (expected full-model)")
    tasks = parse_task_names(args.tasks) if args.tasks is not None else DEFAULTS.tasks
    with naming_flags(FINETUNE_FLAGS):
        return MultitaskConfig(
            tasks=tasks, pooling=args.pooling,
            epochs=args.epochs if args.epochs is not None else DEFAULTS.epochs,
            lr=args.lr if args.lr is not None else DEFAULTS.lr,
            batch_size=args.batch_size, weight_decay=args.weight_decay, warmup_ratio=args.warmup_ratio,
            dropout=args.dropout, max_length=args.max_length, seed=args.seed,
            max_train_examples=args.max_train_examples,
        )


def run(args: argparse.Namespace) -> int:
    config = build_config(args)
    context = context_from_env(os.environ)
    if context is not None and context.world_size > 1:
        raise ConfigError(f"--task multitask trains in one process, but torchrun started {context.world_size}; "
                          "run it as `minbert finetune --task multitask` without torchrun")
    default_output = Path(f"runs/multitask-{'-'.join(config.tasks)}")
    output = default_output if args.output is None else output_path(args.output, "--output")
    data_dir = resolve_data_dir(args.data_dir)
    # metrics.json is written into the folder after each epoch, and best/ is replaced whole.
    inputs = [model_input(args.model), (data_dir, "the data folder")]
    check_output_folder(output, MULTITASK_RUN_FOLDER, flag="--output", kind="multitask run folder", inputs=inputs,
                        replaced_whole=False)
    check_output_folder(output / "best", MODEL_FOLDER, flag="--output", kind="checkpoint folder", inputs=inputs,
                        replaced_whole=True)

    # Read and check every file before the model is loaded, so bad data fails fast.
    data = {name: load_task(name, data_dir) for name in config.tasks}
    encoder, tokenizer, model_dir = load_encoder(args.model)
    check_max_length(config.max_length, encoder)
    train = {name: encode_examples(tokenizer, subsample(task.train, config.max_train_examples, seed=config.seed),
                                   max_length=config.max_length)
             for name, task in data.items()}
    dev = {name: encode_examples(tokenizer, task.dev, max_length=config.max_length) for name, task in data.items()}

    torch.manual_seed(config.seed)
    model = MultitaskModel(encoder, tasks=config.tasks, pooling=config.pooling, dropout=config.dropout)
    sizes = {name: len(encoded) for name, encoded in train.items()}
    probabilities = task_probabilities(sizes)
    print(f"fine-tuning {model_dir} on {','.join(config.tasks)} "
          f"({', '.join(f'{name} {sizes[name]} train/{len(dev[name])} dev' for name in config.tasks)}), "
          f"task probabilities {', '.join(f'{name} {p:.3f}' for name, p in probabilities.items())}, "
          f"epochs {config.epochs}, lr {config.lr:g}; output: {output}", flush=True)

    history: list[MultitaskEpoch] = []
    summary = {
        "tasks": list(config.tasks), "model": str(model_dir), "config": asdict(config),
        "train_examples": sizes, "dev_examples": {name: len(encoded) for name, encoded in dev.items()},
        "sampling": {"scheme": "sqrt of train size", "probabilities": probabilities},
        "quora_split": f"quora-dev.csv by sha256 of id, dev fraction {QUORA_DEV_FRACTION}",
    }

    def report_epoch(trained: MultitaskModel, record: MultitaskEpoch, improved: bool) -> None:
        if improved:
            save_multitask(output / "best", trained, tokenizer, max_length=config.max_length)
        history.append(record)
        write_metrics(output / "metrics.json", summary, history)
        scores = "  ".join(f"{name} {MULTITASK_TASKS[name].metric} {record.dev[name]:.4f}" for name in config.tasks)
        print(f"epoch {record.epoch}: {scores}  mean {record.dev_mean:.4f}  {record.seconds:.0f} s  "
              f"{record.examples_per_second:.1f} examples/s" + ("  (best, saved)" if improved else ""), flush=True)

    result = train_multitask(model, train, dev, config, pad_id=tokenizer.pad_token_id, on_epoch_end=report_epoch,
                             progress=args.progress)
    print(f"best mean dev metric {result.best_dev_mean:.4f} at epoch {result.best_epoch}; "
          f"checkpoint in {output / 'best'}")
    return 0


def write_metrics(path: Path, summary: dict, history: list[MultitaskEpoch]) -> None:
    """Write the run summary with every epoch and the best one (by mean dev metric) as JSON, atomically."""
    scored = [record for record in history if not math.isnan(record.dev_mean)]
    best = max(scored, key=lambda record: record.dev_mean) if scored else None
    metrics = {
        **summary,
        "best_epoch": best.epoch if best else None,
        "best_dev": best.dev if best else None,
        "best_dev_mean": best.dev_mean if best else None,
        "history": [asdict(record) for record in history],
    }
    write_text_atomic(path, json.dumps(_without_nan(metrics), indent=2) + "\n")


def _without_nan(value: object) -> object:
    """Replace NaN floats by None, since JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_nan(item) for item in value]
    return value
