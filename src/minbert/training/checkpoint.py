"""Saving and loading a fine-tuned classifier as one self-contained folder.

The folder is a Hugging Face BERT folder plus the classifier:

    config.json            BERT config, plus a "minbert" entry: labels, pooling, max_length
    model.safetensors      encoder tensors under Hugging Face names, and classifier.weight/bias
    vocab.txt              the tokenizer's vocabulary
    tokenizer_config.json  do_lower_case

The folder is written in full under a temporary name beside the target and
renamed onto it (``minbert.atomic.atomic_folder``), so a run stopped while
saving leaves the previous checkpoint loadable, and no file of an older model
stays beside the new one. ``BertModel.from_pretrained`` also loads the folder
(it skips the ``classifier.`` tensors), so a fine-tuned encoder can be
fine-tuned again with ``--model``.
"""

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from minbert.atomic import atomic_folder, write_text_atomic
from minbert.errors import CheckpointError
from minbert.model.bert import BertModel
from minbert.model.checkpoint import read_weights, to_hf_state_dict, write_safetensors
from minbert.model.pretrained import check_vocab_fits, load_tokenizer
from minbert.outputs import MODEL_FOLDER, check_output_folder
from minbert.tokenizers.wordpiece import WordPieceTokenizer
from minbert.training.classifier import POOLINGS, SentenceClassifier


@dataclass(frozen=True)
class ClassifierInfo:
    """Settings a checkpoint needs besides its tensors to classify new text."""

    label_names: tuple[str, ...]
    pooling: str
    max_length: int
    task: str

    def __post_init__(self) -> None:
        if len(self.label_names) < 2:
            raise ValueError(f"label_names={list(self.label_names)} must name at least 2 classes")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling={self.pooling!r} is not one of {', '.join(POOLINGS)}")
        if self.max_length < 3:
            raise ValueError(f"max_length={self.max_length} must be at least 3")


def save_classifier(folder: str | Path, model: SentenceClassifier, tokenizer: WordPieceTokenizer,
                    info: ClassifierInfo, *, extra_files: Mapping[str, str] | None = None) -> None:
    """Write the classifier, and ``extra_files`` (name to text), as the folder ``folder``, replacing it whole.

    Raises OutputError when ``folder`` contains anything but the files of a
    model folder (see ``minbert.outputs.MODEL_FOLDER``).
    """
    folder = Path(folder)
    check_output_folder(folder, MODEL_FOLDER, flag="output", kind="model folder", replaced_whole=True)
    with atomic_folder(folder) as staging:
        config = {**model.encoder.config.to_json_dict(), "minbert": asdict(info)}
        write_text_atomic(staging / "config.json", json.dumps(config, indent=2) + "\n")
        tokenizer.save_vocab(staging / "vocab.txt")
        write_text_atomic(staging / "tokenizer_config.json",
                          json.dumps({"do_lower_case": tokenizer.lowercase, "tokenizer_class": "BertTokenizer",
                                      "model_max_length": model.encoder.config.max_position_embeddings}) + "\n")
        for name, text in (extra_files or {}).items():
            write_text_atomic(staging / name, text)

        state = to_hf_state_dict(model.encoder.state_dict())
        state["classifier.weight"] = model.classifier.weight
        state["classifier.bias"] = model.classifier.bias
        write_safetensors(state, staging / "model.safetensors")


def load_classifier(folder: str | Path) -> tuple[SentenceClassifier, WordPieceTokenizer, ClassifierInfo]:
    """Load a folder written by ``save_classifier``, in eval mode."""
    folder = Path(folder)
    config_file = folder / "config.json"
    encoder = BertModel.from_pretrained(folder)
    raw = json.loads(config_file.read_text(encoding="utf-8"))
    if "minbert" not in raw:
        raise CheckpointError(f"{config_file}: not a minbert classifier checkpoint (no 'minbert' entry); "
                              "fine-tune one with `minbert finetune`")
    entry = raw["minbert"]
    if not isinstance(entry, dict):
        raise CheckpointError(f"{config_file}: the 'minbert' entry must be a JSON object")
    if entry.get("pair_encoding") == "cross" and "tasks" in entry:
        raise CheckpointError(f"{config_file}: a multitask checkpoint (minbert finetune --task multitask), not a "
                              "single-task classifier; its encoder loads with --model "
                              f"{folder}, and its dev metrics are in the metrics.json beside it")
    missing = [key for key in ("label_names", "pooling", "max_length", "task") if key not in entry]
    if missing:
        raise CheckpointError(f"{config_file}: the 'minbert' entry lacks {', '.join(missing)}")
    try:
        info = ClassifierInfo(label_names=tuple(map(str, entry["label_names"])), pooling=entry["pooling"],
                              max_length=int(entry["max_length"]), task=str(entry["task"]))
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{config_file}: invalid 'minbert' entry: {error}") from None
    if info.max_length > encoder.config.max_position_embeddings:
        raise CheckpointError(f"{config_file}: max_length={info.max_length} is above the model's "
                              f"{encoder.config.max_position_embeddings} positions")

    weights, weights_file = read_weights(folder)
    if "classifier.weight" not in weights or "classifier.bias" not in weights:
        raise CheckpointError(f"{weights_file}: classifier.weight or classifier.bias is missing")
    model = SentenceClassifier(encoder, num_labels=len(info.label_names), pooling=info.pooling)
    if weights["classifier.weight"].shape != model.classifier.weight.shape:
        raise CheckpointError(
            f"{weights_file}: classifier.weight has shape {tuple(weights['classifier.weight'].shape)}, "
            f"expected {tuple(model.classifier.weight.shape)}"
        )
    with torch.no_grad():
        model.classifier.weight.copy_(weights["classifier.weight"])
        model.classifier.bias.copy_(weights["classifier.bias"])
    model.eval()
    tokenizer = load_tokenizer(folder)
    check_vocab_fits(tokenizer, encoder.config.vocab_size, folder=folder)
    return model, tokenizer, info
