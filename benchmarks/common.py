"""Helpers shared by the benchmarks: finding the data and reading SST sentences."""

import argparse
import csv
import os
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def add_data_dir_argument(parser: argparse.ArgumentParser, *, contents: str) -> None:
    """Add ``--data-dir``, defaulting to $MINBERT_DATA, else the shared data beside the checkout."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("MINBERT_DATA", REPO_ROOT.parent / "shared" / "data")),
        help=f"folder with {contents} (default: $MINBERT_DATA, else ../shared/data)",
    )


def dense_flops_per_token(hidden_size: int, intermediate_size: int, num_layers: int) -> int:
    """Floating-point operations per token in the dense layers: two per multiply-accumulate.

    Each layer has the Q, K, V and output projections (4 C^2 multiply-accumulates)
    and the feed-forward block (2 C I). The attention scores are left out.
    """
    return 2 * num_layers * (4 * hidden_size**2 + 2 * hidden_size * intermediate_size)


def data_dir(arg: str | None) -> Path:
    for candidate in (arg, os.environ.get("MINBERT_DATA"), REPO_ROOT.parent / "shared" / "data"):
        if candidate and (Path(candidate) / "ids-sst-dev.csv").is_file():
            return Path(candidate)
    raise SystemExit("shared data not found: pass --data-dir or set MINBERT_DATA")


def read_sst(path: Path) -> tuple[list[str], list[int]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [row["sentence"] for row in rows], [int(row["sentiment"]) for row in rows]


def matmul_gflops(hidden: int, intermediate: int, tokens: int = 512, repeats: int = 30) -> float:
    """GFLOP/s of a plain (tokens x C) @ (C x I) matmul: the ceiling for the dense layers."""
    import torch

    left, right = torch.randn(tokens, hidden), torch.randn(hidden, intermediate)
    for _ in range(5):
        left @ right
    started = time.perf_counter()
    for _ in range(repeats):
        left @ right
    return 2 * tokens * hidden * intermediate * repeats / (time.perf_counter() - started) / 1e9
