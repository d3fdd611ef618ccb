"""The sentence-transformers files of a model folder: pooling, normalisation, maximum length.

A sentence-transformers folder is a Hugging Face BERT folder plus:

- ``modules.json``: the pipeline, here a Transformer, a Pooling module in a
  subfolder (``1_Pooling``) and optionally a Normalize module;
- ``1_Pooling/config.json``: the pooling mode, either as ``pooling_mode``
  (sentence-transformers 5 and later) or as one ``pooling_mode_*_token(s)``
  flag per mode (earlier versions, and all-MiniLM-L6-v2);
- ``sentence_bert_config.json``: ``max_seq_length``, 256 for all-MiniLM-L6-v2.

``read_settings`` reads them, and ``write_settings`` writes them in the
flag layout that every sentence-transformers version loads. A folder without
``modules.json`` is a plain BERT folder and gets ``SentenceSettings()``.

Limitations: only the mean, cls and max modes, one at a time; Dense and other
modules are rejected.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minbert.atomic import write_text_atomic
from minbert.embeddings.pooling import POOLING_MODES, PoolingMode
from minbert.errors import CheckpointError

TRANSFORMER_TYPE = "sentence_transformers.models.Transformer"
POOLING_TYPE = "sentence_transformers.models.Pooling"
NORMALIZE_TYPE = "sentence_transformers.models.Normalize"
POOLING_FOLDER = "1_Pooling"
NORMALIZE_FOLDER = "2_Normalize"

# Flag names of the layout before sentence-transformers 5, by minbert's mode name.
POOLING_FLAGS = {
    "cls": "pooling_mode_cls_token",
    "mean": "pooling_mode_mean_tokens",
    "max": "pooling_mode_max_tokens",
}
UNSUPPORTED_FLAGS = ("pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken")


@dataclass(frozen=True)
class SentenceSettings:
    """Settings that turn a folder's token states into a sentence embedding; None where the folder has none."""

    pooling: PoolingMode = "mean"
    normalize: bool | None = None
    max_length: int | None = None


def read_settings(folder: str | Path) -> SentenceSettings:
    """Read the sentence-transformers files of ``folder``, or return defaults when it has none.

    Raises CheckpointError naming the file for unreadable JSON, an unknown
    module type, or a pooling mode minbert does not support.
    """
    folder = Path(folder)
    modules_file = folder / "modules.json"
    if not modules_file.is_file():
        return SentenceSettings()
    modules = _read_json(modules_file)
    if not isinstance(modules, list) or not all(isinstance(module, dict) for module in modules):
        raise CheckpointError(f"{modules_file}: expected a JSON list of module objects")

    pooling: PoolingMode = "mean"
    normalize = False
    for module in modules:
        kind = str(module.get("type", ""))
        short_name = kind.rsplit(".", 1)[-1]
        if short_name == "Transformer":
            continue
        if short_name == "Pooling":
            pooling = _read_pooling(folder / str(module.get("path", POOLING_FOLDER)) / "config.json")
        elif short_name == "Normalize":
            normalize = True
        else:
            raise CheckpointError(f"{modules_file}: module type {kind!r} is not supported "
                                  "(expected Transformer, Pooling and Normalize only)")

    max_length = None
    config_file = folder / "sentence_bert_config.json"
    if config_file.is_file():
        config = _read_json(config_file)
        value = config.get("max_seq_length") if isinstance(config, dict) else None
        if value is not None:
            if not isinstance(value, int) or isinstance(value, bool) or value < 3:
                raise CheckpointError(f"{config_file}: max_seq_length {value!r} is invalid "
                                      "(expected an integer of at least 3)")
            max_length = value
    return SentenceSettings(pooling=pooling, normalize=normalize, max_length=max_length)


def write_settings(folder: str | Path, settings: SentenceSettings, *, hidden_size: int) -> None:
    """Write modules.json, sentence_bert_config.json and the pooling config into ``folder``."""
    folder = Path(folder)
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": TRANSFORMER_TYPE},
        {"idx": 1, "name": "1", "path": POOLING_FOLDER, "type": POOLING_TYPE},
    ]
    if settings.normalize:
        modules.append({"idx": 2, "name": "2", "path": NORMALIZE_FOLDER, "type": NORMALIZE_TYPE})
        (folder / NORMALIZE_FOLDER).mkdir(exist_ok=True)
    pooling_config: dict[str, Any] = {"word_embedding_dimension": hidden_size}
    pooling_config |= {flag: settings.pooling == mode for mode, flag in POOLING_FLAGS.items()}
    pooling_config |= {flag: False for flag in UNSUPPORTED_FLAGS}

    (folder / POOLING_FOLDER).mkdir(exist_ok=True)
    write_text_atomic(folder / POOLING_FOLDER / "config.json", json.dumps(pooling_config, indent=2) + "\n")
    sentence_config = {"max_seq_length": settings.max_length, "do_lower_case": False}
    write_text_atomic(folder / "sentence_bert_config.json", json.dumps(sentence_config, indent=2) + "\n")
    write_text_atomic(folder / "modules.json", json.dumps(modules, indent=2) + "\n")


def _read_pooling(config_file: Path) -> PoolingMode:
    if not config_file.is_file():
        raise CheckpointError(f"{config_file}: pooling config not found (modules.json lists a Pooling module)")
    config = _read_json(config_file)
    if not isinstance(config, dict):
        raise CheckpointError(f"{config_file}: expected a JSON object")
    if "pooling_mode" in config:
        value = config["pooling_mode"]
        if isinstance(value, str):
            modes = [value]
        elif isinstance(value, list):
            modes = list(value)
        else:
            modes = [repr(value)]
    else:
        modes = [mode for mode, flag in POOLING_FLAGS.items() if config.get(flag)]
        modes += [flag for flag in UNSUPPORTED_FLAGS if config.get(flag)]
        modes = modes or ["mean"]
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        raise CheckpointError(f"{config_file}: pooling {' + '.join(map(str, modes))} is not supported "
                              f"(expected one of {', '.join(POOLING_MODES)})")
    return modes[0]


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: cannot read JSON ({error})") from None
