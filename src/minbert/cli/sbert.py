"""``minbert sbert train``: siamese fine-tuning of a sentence encoder on STS or Quora pairs.

    --data sts    sts-train.csv, similarity 0..5, losses cosine or cosent
    --data quora  the is_duplicate == 1 pairs of the 90% train side of quora-dev.csv
                  (split by id hash, see ``minbert.data.splits``), loss mnrl

Both score the model on sts-dev.csv: zero-shot first, then after each epoch.
The epoch with the best Spearman is saved to --output with metrics.json.
"""

import argparse
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from minbert.atomic import write_text_atomic
from minbert.cli.options import (add_data_dir_option, add_model_option, add_progress_option, counted,
                                 load_sentence_encoder, naming_flags, path_value)
from minbert.data.pairs import STS_SCORE_RANGE, ScoredPair, read_scored_pairs
from minbert.data.splits import split_by_id
from minbert.data.tasks import resolve_data_dir
from minbert.embeddings.encoder import SentenceEncoder
from minbert.embeddings.sts import StsResult, evaluate_sts
from minbert.errors import ConfigError, DataError
from minbert.outputs import MODEL_FOLDER, check_output_folder, model_input, output_path
from minbert.training.sbert import SbertConfig, SbertEpoch, encode_pairs, save_encoder_atomic, train_sbert
from minbert.training.sbert_losses import SBERT_LOSSES, SCORED_LOSSES

DEFAULTS = SbertConfig()
DATASETS = ("sts", "quora")
STS_TRAIN_FILE, STS_DEV_FILE, QUORA_FILE = "sts-train.csv", "sts-dev.csv", "quora-dev.csv"
# The options of `minbert sbert train` that set an SbertConfig field or SentenceEncoder argument, by name.
FLAGS = {
    "loss": "--loss", "epochs": "--epochs", "batch_size": "--batch-size", "lr": "--lr", "seed": "--seed",
    "max_steps": "--max-steps", "max_length": "--max-length",
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sbert",
        help="train Sentence-BERT embeddings on sentence pairs",
        description="Sentence-BERT: siamese fine-tuning of a sentence encoder.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    train = actions.add_parser(
        "train",
        help="fine-tune on STS (cosine, cosent) or Quora duplicates (mnrl)",
        description="Fine-tune a sentence encoder on sentence pairs and score it on STS dev after each epoch. "
                    "The epoch with the best Spearman is saved to --output (sentence-transformers layout) "
                    "with metrics.json.",
    )
    train.add_argument("--data", choices=DATASETS, default="sts",
                       help="sts: scored pairs of sts-train.csv; quora: duplicate pairs of the train side "
                            "of quora-dev.csv (default: %(default)s)")
    train.add_argument("--loss", choices=SBERT_LOSSES, default=DEFAULTS.loss,
                       help="cosine (MSE of cosine against score/5) or cosent for sts; mnrl "
                            "(in-batch negatives) for quora (default: %(default)s)")
    add_model_option(train)
    add_data_dir_option(train, files=f"{STS_DEV_FILE} for scoring, and {STS_TRAIN_FILE} (--data sts) or "
                                     f"{QUORA_FILE} (--data quora) for training")
    train.add_argument("--output", metavar="DIR", type=path_value, required=True,
                       help="folder for the best model, replaced whole at each best epoch, so it must be new, "
                            "empty or contain only the files minbert writes in a model folder")
    train.add_argument("--epochs", type=int, default=DEFAULTS.epochs,
                       help="passes over the train pairs (default: %(default)s)")
    train.add_argument("--batch-size", type=int, metavar="N", default=DEFAULTS.batch_size,
                       help="pairs per batch (default: %(default)s)")
    train.add_argument("--lr", type=float, default=DEFAULTS.lr, help="peak learning rate (default: %(default)s)")
    train.add_argument("--max-length", type=int, default=None,
                       help="tokens per text including [CLS] and [SEP]; longer texts are cut "
                            "(default: the model's setting, 256 for all-MiniLM-L6-v2)")
    train.add_argument("--max-steps", type=int, default=None,
                       help="stop after this many updates, scoring dev where it stops (default: all epochs)")
    train.add_argument("--seed", type=int, default=DEFAULTS.seed, help="random seed (default: %(default)s)")
    add_progress_option(train)
    train.set_defaults(run=run)


def check_loss_fits_data(data: str, loss: str) -> None:
    if data == "sts" and loss not in SCORED_LOSSES:
        raise ConfigError(f"--loss {loss} needs positive pairs without scores, but --data sts has scored pairs "
                          f"(use --loss {' or '.join(SCORED_LOSSES)}, or --data quora)")
    if data == "quora" and loss in SCORED_LOSSES:
        raise ConfigError(f"--loss {loss} needs graded similarity scores, but --data quora has duplicate pairs "
                          "(use --loss mnrl, or --data sts)")


def read_data(data: str, data_dir: Path) -> tuple[list[ScoredPair], list[ScoredPair]]:
    """Return the train pairs of ``data`` and the STS dev pairs."""
    paths = {name: data_dir / name for name in (STS_DEV_FILE, STS_TRAIN_FILE if data == "sts" else QUORA_FILE)}
    for path in paths.values():
        if not path.is_file():
            raise DataError(f"{path}: file not found (expected it in the data folder {data_dir})")
    dev = read_scored_pairs(paths[STS_DEV_FILE], score_range=STS_SCORE_RANGE)
    if data == "sts":
        return read_scored_pairs(paths[STS_TRAIN_FILE], score_range=STS_SCORE_RANGE), dev

    quora = read_scored_pairs(paths[QUORA_FILE], score_column="is_duplicate", id_column="id",
                              skip_missing_scores=True)
    train_side, _ = split_by_id(quora, lambda pair: pair.id)
    positives = [pair for pair in train_side if pair.score == 1]
    if not positives:
        raise DataError(f"{paths[QUORA_FILE]}: no pairs with is_duplicate 1 on the train side "
                        "(expected at least one duplicate pair)")
    return positives, dev


def load_model(model: str | None, max_length: int | None) -> tuple[SentenceEncoder, Path]:
    """Load the encoder of ``--model`` (or the default) with ``--max-length`` if given; return it and its folder."""
    encoder, folder = load_sentence_encoder(model)
    if max_length is not None:
        with naming_flags(FLAGS):
            encoder = SentenceEncoder(encoder.encoder, encoder.tokenizer, pooling=encoder.pooling,
                                      normalize=encoder.normalize, max_length=max_length)
    return encoder, folder


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    with naming_flags(FLAGS):
        config = SbertConfig(loss=args.loss, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                             seed=args.seed, max_steps=args.max_steps)
    check_loss_fits_data(args.data, args.loss)
    output = output_path(args.output, "--output")
    data_dir = resolve_data_dir(args.data_dir)
    inputs = [model_input(args.model), (data_dir, "the data folder")]
    check_output_folder(output, MODEL_FOLDER, flag="--output", kind="model folder", inputs=inputs,
                        replaced_whole=True)

    # Read and check the data before the model is loaded, so bad files fail fast.
    train_pairs, dev_pairs = read_data(args.data, data_dir)
    encoder, model_dir = load_model(args.model, args.max_length)
    train = encode_pairs(encoder, train_pairs, with_scores=args.loss in SCORED_LOSSES)
    print(f"training {model_dir} on {args.data} ({len(train)} pairs), loss {config.loss}, epochs {config.epochs}, "
          f"batch {config.batch_size}, lr {config.lr:g}"
          + (f", at most {counted(config.max_steps, 'step')}" if config.max_steps else "")
          + f"; model: {output}", flush=True)

    zero_shot = evaluate_sts(encoder, dev_pairs, batch_size=64, show_progress=False)
    print(f"zero-shot: STS dev Spearman {zero_shot.spearman:.4f}  Pearson {zero_shot.pearson:.4f}", flush=True)
    history: list[SbertEpoch] = []

    def metrics_text() -> str:
        best = max(history, key=lambda record: record.dev.spearman)
        metrics = {
            "data": args.data, "model": str(model_dir), "config": asdict(config), "max_length": encoder.max_length,
            "train_pairs": len(train), "dev_pairs": len(dev_pairs), "zero_shot": asdict(zero_shot),
            "best_epoch": best.epoch, "best_dev": asdict(best.dev),
            "history": [asdict(record) for record in history],
            "seconds": time.perf_counter() - started,
        }
        return json.dumps(metrics, indent=2) + "\n"

    def report_epoch(trained: SentenceEncoder, record: SbertEpoch, improved: bool) -> None:
        history.append(record)
        if improved:
            save_encoder_atomic(trained, output, extra_files={"metrics.json": metrics_text()})
        else:
            write_text_atomic(output / "metrics.json", metrics_text())
        print(f"epoch {record.epoch}: train loss {record.train_loss:.4f}  STS dev Spearman {record.dev.spearman:.4f}  "
              f"Pearson {record.dev.pearson:.4f}  {record.seconds:.0f} s  {record.pairs_per_second:.1f} pairs/s"
              + ("  (best epoch, saved)" if improved else ""), flush=True)

    result = train_sbert(encoder, train, dev_pairs, config, on_epoch_end=report_epoch, progress=args.progress)
    best: StsResult = result.best_dev
    print(f"best STS dev Spearman {best.spearman:.4f} (zero-shot {zero_shot.spearman:.4f}) at epoch "
          f"{result.best_epoch}; model in {output}; {time.perf_counter() - started:.0f} s in all")
    if best.spearman <= zero_shot.spearman:
        print(f"warning: no epoch scored above zero-shot, so {model_dir} itself scores higher than the saved model",
              file=sys.stderr)
    return 0
