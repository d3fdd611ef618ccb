"""Distributed fine-tuning: batch shards, loss scales, and 2 gloo processes under torchrun against one."""

import json
import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import toy_sentiment_rows, write_tsv
from distributed_worker import train_tiny, write_tiny_model_without_dropout
from minbert.cli.main import main
from minbert.errors import ConfigError
from minbert.training.distributed import DistributedContext, backend_for, context_from_env, shard_batch

TESTS_DIR = Path(__file__).resolve().parent


def context(rank: int, world_size: int) -> DistributedContext:
    return DistributedContext(rank=rank, world_size=world_size)


def test_shard_batch_equal_slices():
    indices = [10, 11, 12, 13, 14, 15, 16, 17]
    first, second = shard_batch(indices, context(0, 2)), shard_batch(indices, context(1, 2))
    assert first.indices == [10, 11, 12, 13]
    assert second.indices == [14, 15, 16, 17]
    assert first.loss_scale == 1.0
    assert second.loss_scale == 1.0


def test_shard_batch_uneven_slices():
    indices = [7, 3, 9, 1, 4]
    first, second = shard_batch(indices, context(0, 2)), shard_batch(indices, context(1, 2))
    assert first.indices == [7, 3, 9]
    assert second.indices == [1, 4]
    assert first.loss_scale == pytest.approx(2 * 3 / 5)
    assert second.loss_scale == pytest.approx(2 * 2 / 5)


def test_shard_batch_fewer_texts_than_ranks():
    shard = shard_batch([42], context(1, 2))
    assert shard.indices == [42]
    assert shard.loss_scale == 0.0
    assert shard_batch([42], context(0, 2)).loss_scale == 2.0


def test_shard_batch_without_context():
    shard = shard_batch([5, 6, 7], None)
    assert shard.indices == [5, 6, 7]
    assert shard.loss_scale == 1.0


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
def test_scaled_shard_means_average_to_batch_mean(world_size):
    generator = random.Random(world_size)
    for size in range(1, 10):
        losses = {index: generator.uniform(0.0, 3.0) for index in range(100, 100 + size)}
        shards = [shard_batch(list(losses), context(rank, world_size)) for rank in range(world_size)]
        covered = sorted(index for shard in shards if shard.loss_scale > 0 for index in shard.indices)
        assert covered == list(losses)
        scaled = [shard.loss_scale * sum(losses[index] for index in shard.indices) / len(shard.indices)
                  for shard in shards]
        assert sum(scaled) / world_size == pytest.approx(sum(losses.values()) / size, rel=1e-12)


def test_context_from_env_without_torchrun():
    assert context_from_env({"MINBERT_DATA": "/data"}) is None


def test_context_from_env_reads_torchrun_variables():
    found = context_from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert found == DistributedContext(rank=3, world_size=4)
    assert not found.is_main


@pytest.mark.parametrize("environ, expected", [
    ({"RANK": "0"}, "WORLD_SIZE is not set"),
    ({"WORLD_SIZE": "2"}, "RANK is not set"),
    ({"RANK": "one", "WORLD_SIZE": "2"}, "RANK='one' is not an integer"),
    ({"RANK": "2", "WORLD_SIZE": "2"}, "RANK=2, WORLD_SIZE=2"),
])
def test_context_from_env_rejects_bad_values(environ, expected):
    with pytest.raises(ConfigError, match=expected):
        context_from_env(environ)


def test_backend_follows_device():
    assert backend_for(torch.device("cpu")) == "gloo"
    assert backend_for(torch.device("cuda", 1)) == "nccl"


@pytest.fixture
def toy_files(tmp_path):
    # 45 texts in batches of 8 end each epoch with a batch of 5, split 3 and 2 between 2 ranks.
    train = write_tsv(tmp_path / "train.csv", toy_sentiment_rows(45, seed=1))
    dev = write_tsv(tmp_path / "dev.csv", toy_sentiment_rows(16, seed=2))
    return train, dev


def finetune_args(model_dir, train, dev, output, *extra):
    return ["finetune", "--model", str(model_dir), "--train", str(train), "--dev", str(dev), "--num-labels", "2",
            "--output", str(output), "--no-progress", "--lr", "1e-3", "--epochs", "2", "--dropout", "0",
            "--batch-size", "8", "--max-length", "32", *extra]


@pytest.mark.parametrize("extra, expected", [
    (["--batch-size", "7"], "--batch-size 7 is not divisible by the 2 processes"),
    (["--mode", "last-linear-layer"], "--mode last-linear-layer does not run under torchrun"),
])
def test_cli_rejects_unsupported_settings_under_torchrun(tiny_model_dir, toy_files, tmp_path, monkeypatch, capsys,
                                                         extra, expected):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    train, dev = toy_files
    assert main(finetune_args(tiny_model_dir, train, dev, tmp_path / "run", *extra)) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    assert expected in lines[0]
    assert not (tmp_path / "run" / "model.safetensors").exists()


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_torchrun(arguments: list[str], cwd: Path, *, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``torchrun --nproc_per_node 2`` on loopback with gloo; with ``check``, fail the test on a non-zero exit."""
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(free_loopback_port()), *arguments]
    environ = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo",
               "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, cwd=cwd, env=environ, capture_output=True, text=True, timeout=120)
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def assert_weights_close(actual: dict, expected: dict, atol: float) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        assert torch.allclose(actual[name], expected[name], rtol=0, atol=atol), \
            f"{name}: max difference {(actual[name] - expected[name]).abs().max().item():.3g}"


def test_two_ranks_match_single_process(tmp_path):
    model_dir = write_tiny_model_without_dropout(tmp_path / "model")
    run_torchrun([str(TESTS_DIR / "distributed_worker.py"), str(model_dir), str(tmp_path), "mean"], cwd=tmp_path)
    first, second = load_file(tmp_path / "rank0.safetensors"), load_file(tmp_path / "rank1.safetensors")
    assert_weights_close(second, first, atol=1e-6)

    single, single_result = train_tiny(model_dir, pooling="mean", context=None)
    assert_weights_close(first, single.state_dict(), atol=1e-5)
    # Mean pooling never uses the pooler, so neither run may have changed it (no gradient, no weight decay).
    initial = load_file(model_dir / "model.safetensors")
    assert torch.equal(first["encoder.pooler.dense.weight"], initial["pooler.dense.weight"])

    for rank in (0, 1):
        history = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert [record["dev_accuracy"] for record in history] == \
            [record.dev_accuracy for record in single_result.history]
        assert [record["train_loss"] for record in history] == \
            pytest.approx([record.train_loss for record in single_result.history], abs=1e-6)


def test_torchrun_cli_matches_single_process(toy_files, tmp_path):
    model_dir = write_tiny_model_without_dropout(tmp_path / "model")
    train, dev = toy_files
    result = run_torchrun(["-m", "minbert", *finetune_args(model_dir, train, dev, tmp_path / "ddp",
                                                           "--pooling", "cls")], cwd=tmp_path)
    assert main(finetune_args(model_dir, train, dev, tmp_path / "single", "--pooling", "cls")) == 0

    # Only rank 0 prints.
    lines = result.stdout.splitlines()
    assert sum(line.startswith("fine-tuning") for line in lines) == 1
    assert "2 processes" in lines[0]
    assert sum(line.startswith("epoch ") for line in lines) == 2

    distributed = load_file(tmp_path / "ddp" / "model.safetensors")
    single = load_file(tmp_path / "single" / "model.safetensors")
    assert_weights_close(distributed, single, atol=1e-5)
    distributed_metrics = json.loads((tmp_path / "ddp" / "metrics.json").read_text())
    single_metrics = json.loads((tmp_path / "single" / "metrics.json").read_text())
    assert distributed_metrics["best_epoch"] == single_metrics["best_epoch"]
    assert [record["train_loss"] for record in distributed_metrics["history"]] == \
        pytest.approx([record["train_loss"] for record in single_metrics["history"]], abs=1e-6)


def test_failing_rank_stops_the_other(tmp_path):
    model_dir = write_tiny_model_without_dropout(tmp_path / "model")
    started = time.monotonic()
    result = run_torchrun([str(TESTS_DIR / "distributed_worker.py"), str(model_dir), str(tmp_path), "mean", "1"],
                          cwd=tmp_path, check=False)
    # Rank 0 waits for rank 1 in the first collective until torchrun stops it, long before the gloo timeout.
    assert result.returncode != 0
    assert time.monotonic() - started < 60
    assert "rank 1 fails on purpose" in result.stderr
    assert not list(tmp_path.glob("rank*.safetensors"))
