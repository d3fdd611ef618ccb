"""Shared fixtures: where the shared data and the default model are found."""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def find_data_dir() -> Path | None:
    """Return the shared data folder from MINBERT_DATA, else ../shared/data, else None."""
    candidates = []
    if os.environ.get("MINBERT_DATA"):
        candidates.append(Path(os.environ["MINBERT_DATA"]))
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if (candidate / "ids-sst-dev.csv").is_file():
            return candidate
    return None


@pytest.fixture(scope="session")
def data_dir() -> Path:
    found = find_data_dir()
    if found is None:
        pytest.skip("shared data not found: set MINBERT_DATA to the folder holding ids-sst-dev.csv")
    return found


@pytest.fixture(scope="session")
def model_dir() -> Path:
    from minbert.model.pretrained import default_model_dir

    return default_model_dir()
