"""Saving and loading the multitask model as one folder, replaced as a whole.

    config.json            BERT config, plus a "minbert" entry: tasks, pooling, max_length
    model.safetensors      encoder tensors under Hugging Face names, and classifier.TASK.weight/bias
    vocab.txt              the tokenizer's vocabulary
    tokenizer_config.json  do_lower_case

The folder is written in full under a temporary name beside the target, then
renamed onto it: the old folder is first renamed aside, the new one takes its
name, and the old one is deleted. A run stopped at any point leaves a complete
checkpoint under the target name, except a hard kill between the two renames,
which leaves the previous one complete under ``.NAME.old-*``. The heads are
stored under ``classifier.``, which ``BertModel.from_pretrained`` skips, so the
folder also loads as a plain BERT encoder (``--model``).
"""

import json
from pathlib import Path

import torch

from minbert.atomic import atomic_folder, write_text_atomic
from minbert.data.multitask_data import MULTITASK_TASKS
from minbert.errors import CheckpointError
from minbert.model.bert import BertModel
from minbert.model.checkpoint import read_weights, to_hf_state_dict, write_safetensors
from minbert.model.pretrained import load_tokenizer
from minbert.outputs import MODEL_FOLDER, check_output_folder
from minbert.tokenizers.wordpiece import WordPieceTokenizer
from minbert.training.classifier import POOLINGS
from minbert.training.multitask import MultitaskModel

HEAD_PREFIX = "classifier."


def save_multitask(folder: str | Path, model: MultitaskModel, tokenizer: WordPieceTokenizer, *,
                   max_length: int) -> None:
    """Write the checkpoint into a temporary folder, then rename it onto ``folder``.

    Raises OutputError when ``folder`` contains anything but the files of a
    model folder (see ``minbert.outputs.MODEL_FOLDER``), since it is replaced whole.
    """
    folder = Path(folder)
    check_output_folder(folder, MODEL_FOLDER, flag="output", kind="model folder", replaced_whole=True)
    with atomic_folder(folder) as staging:
        _write_folder(staging, model, tokenizer, max_length=max_length)


def _write_folder(folder: Path, model: MultitaskModel, tokenizer: WordPieceTokenizer, *, max_length: int) -> None:
    entry = {"tasks": list(model.tasks), "pooling": model.pooling, "max_length": max_length,
             "pair_encoding": "cross"}
    config = {**model.encoder.config.to_json_dict(), "minbert": entry}
    write_text_atomic(folder / "config.json", json.dumps(config, indent=2) + "\n")
    tokenizer.save_vocab(folder / "vocab.txt")
    write_text_atomic(folder / "tokenizer_config.json",
                      json.dumps({"do_lower_case": tokenizer.lowercase, "tokenizer_class": "BertTokenizer",
                                  "model_max_length": model.encoder.config.max_position_embeddings}) + "\n")
    state = to_hf_state_dict(model.encoder.state_dict())
    for name, head in model.heads.items():
        state[f"{HEAD_PREFIX}{name}.weight"] = head.weight
        state[f"{HEAD_PREFIX}{name}.bias"] = head.bias
    write_safetensors(state, folder / "model.safetensors")


def load_multitask(folder: str | Path) -> tuple[MultitaskModel, WordPieceTokenizer, int]:
    """Load a folder written by ``save_multitask``, in eval mode; return model, tokenizer and max_length."""
    folder = Path(folder)
    config_file = folder / "config.json"
    encoder = BertModel.from_pretrained(folder)
    entry = json.loads(config_file.read_text(encoding="utf-8")).get("minbert")
    if not isinstance(entry, dict) or "tasks" not in entry:
        raise CheckpointError(f"{config_file}: not a minbert multitask checkpoint (no 'minbert' entry with "
                              "'tasks'); train one with `minbert finetune --task multitask`")
    tasks, pooling = entry["tasks"], entry.get("pooling")
    if not isinstance(tasks, list) or not tasks or any(name not in MULTITASK_TASKS for name in tasks):
        raise CheckpointError(f"{config_file}: tasks={tasks!r} is invalid (expected a list of sst, quora, sts)")
    if pooling not in POOLINGS:
        raise CheckpointError(f"{config_file}: pooling={pooling!r} is invalid (expected one of {POOLINGS})")

    model = MultitaskModel(encoder, tasks=tasks, pooling=pooling)
    weights, weights_file = read_weights(folder)
    with torch.no_grad():
        for name, head in model.heads.items():
            for part in ("weight", "bias"):
                key = f"{HEAD_PREFIX}{name}.{part}"
                expected = getattr(head, part)
                if key not in weights or weights[key].shape != expected.shape:
                    raise CheckpointError(f"{weights_file}: {key} is missing or not of shape {tuple(expected.shape)}")
                expected.copy_(weights[key])
    model.eval()
    return model, load_tokenizer(folder), int(entry.get("max_length", encoder.config.max_position_embeddings))
