"""Reading and writing BERT weights in the Hugging Face folder format.

A folder contains ``config.json`` and ``model.safetensors`` (or the older
``pytorch_model.bin``). Hugging Face names parameters after the original
TensorFlow code (``encoder.layer.3.attention.self.query.weight``, LayerNorm
``gamma``/``beta`` in old checkpoints); minbert's modules use shorter names and
one fused query/key/value matrix. ``from_hf_state_dict`` and
``to_hf_state_dict`` map between the two, so minbert reads any BERT folder
and writes folders that transformers and sentence-transformers load.
"""

import logging
import re
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from minbert.atomic import atomic_path
from minbert.errors import CheckpointError

logger = logging.getLogger(__name__)

# Hugging Face prefixes of task heads that a bare encoder does not use.
_HEAD_PREFIXES = ("cls.", "classifier.", "qa_outputs.", "lm_head.")
# Buffers stored by some transformers versions; they hold no weights.
_IGNORED_KEYS = ("embeddings.position_ids",)

# minbert name pattern -> Hugging Face name pattern; {i} is a layer index.
_RENAMES = {
    "embeddings.word.{p}": "embeddings.word_embeddings.{p}",
    "embeddings.position.{p}": "embeddings.position_embeddings.{p}",
    "embeddings.token_type.{p}": "embeddings.token_type_embeddings.{p}",
    "embeddings.norm.{p}": "embeddings.LayerNorm.{p}",
    "layers.{i}.attention.out.{p}": "encoder.layer.{i}.attention.output.dense.{p}",
    "layers.{i}.attention_norm.{p}": "encoder.layer.{i}.attention.output.LayerNorm.{p}",
    "layers.{i}.intermediate.{p}": "encoder.layer.{i}.intermediate.dense.{p}",
    "layers.{i}.output.{p}": "encoder.layer.{i}.output.dense.{p}",
    "layers.{i}.output_norm.{p}": "encoder.layer.{i}.output.LayerNorm.{p}",
    "pooler.dense.{p}": "pooler.dense.{p}",
}
_QKV = re.compile(r"layers\.(\d+)\.attention\.qkv\.(weight|bias)")


def _pattern(template: str) -> re.Pattern:
    escaped = re.escape(template).replace(r"\{i\}", r"(?P<i>\d+)").replace(r"\{p\}", r"(?P<p>weight|bias)")
    return re.compile(escaped + "$")


_TO_HF = [(_pattern(ours), theirs) for ours, theirs in _RENAMES.items()]


def _hf_name(name: str) -> str:
    """Hugging Face name of a minbert parameter other than the fused qkv."""
    for pattern, template in _TO_HF:
        match = pattern.fullmatch(name)
        if match:
            return template.format(**match.groupdict())
    raise KeyError(f"no Hugging Face name for parameter {name!r}")


def _qkv_hf_names(layer: str, kind: str) -> list[str]:
    return [f"encoder.layer.{layer}.attention.self.{part}.{kind}" for part in ("query", "key", "value")]


def to_hf_state_dict(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename minbert parameters to Hugging Face names, splitting the fused qkv matrix."""
    converted = {}
    for name, tensor in state.items():
        qkv = _QKV.fullmatch(name)
        if qkv:
            for hf_name, chunk in zip(_qkv_hf_names(*qkv.groups()), tensor.chunk(3, dim=0)):
                converted[hf_name] = chunk.contiguous()
        else:
            converted[_hf_name(name)] = tensor.contiguous()
    return converted


def _normalise_hf_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Strip a ``bert.`` prefix, rename gamma/beta, and drop task heads and buffers."""
    normalised = {}
    for name, tensor in state.items():
        if name.startswith("bert."):
            name = name[len("bert."):]
        if name.startswith(_HEAD_PREFIXES) or name in _IGNORED_KEYS:
            continue
        name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", name)
        name = re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name)
        normalised[name] = tensor
    return normalised


def from_hf_state_dict(
    hf_state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], *, source: str
) -> dict[str, torch.Tensor]:
    """Map Hugging Face tensors onto minbert names, checking names and shapes.

    ``expected`` is the model's own state dict, used for the target names and
    shapes. Raises one CheckpointError that lists every missing, unexpected
    and wrongly shaped tensor.
    """
    hf_state = _normalise_hf_names(hf_state)
    expected_hf = to_hf_state_dict(expected)
    missing = sorted(set(expected_hf) - set(hf_state))
    unexpected = sorted(set(hf_state) - set(expected_hf))
    wrong_shape = [
        f"{name} {tuple(hf_state[name].shape)} (expected {tuple(expected_hf[name].shape)})"
        for name in sorted(set(expected_hf) & set(hf_state))
        if hf_state[name].shape != expected_hf[name].shape
    ]
    problems = []
    for label, names in (("missing", missing), ("unexpected", unexpected), ("wrong shape", wrong_shape)):
        if names:
            shown = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")
            problems.append(f"{label}: {shown}")
    if problems:
        raise CheckpointError(f"{source}: weights do not fit the model config; " + "; ".join(problems))

    # Inverse of to_hf_state_dict: concatenate query/key/value, rename the rest.
    ours = {}
    for name in expected:
        qkv = _QKV.fullmatch(name)
        if qkv:
            ours[name] = torch.cat([hf_state[hf_name] for hf_name in _qkv_hf_names(*qkv.groups())], dim=0)
        else:
            ours[name] = hf_state[_hf_name(name)]
    return ours


def read_weights(folder: Path) -> tuple[dict[str, torch.Tensor], Path]:
    """Load the raw tensors of a folder, preferring model.safetensors over pytorch_model.bin."""
    safetensors_file = folder / "model.safetensors"
    torch_file = folder / "pytorch_model.bin"
    if safetensors_file.is_file():
        try:
            return load_file(safetensors_file), safetensors_file
        except (SafetensorError, OSError) as error:
            raise CheckpointError(f"{safetensors_file}: cannot read weights ({error})") from None
    if torch_file.is_file():
        return _read_torch_weights(torch_file), torch_file
    raise CheckpointError(f"{folder}: no model.safetensors or pytorch_model.bin found")


def _read_torch_weights(path: Path) -> dict[str, torch.Tensor]:
    """Load a pytorch_model.bin state dict with ``weights_only=True``, so that no code in the pickle runs."""
    expected = "expected a dict of tensors saved by torch.save"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    # A damaged pickle fails with whatever error the unpickler meets first (EOFError, IndexError, KeyError,
    # UnpicklingError, ...). torch's message for objects other than tensors suggests weights_only=False,
    # which would run code from the file, so it is not passed on.
    except Exception:  # noqa: BLE001
        raise CheckpointError(f"{path}: cannot read weights: the file is damaged or contains objects other than "
                              f"tensors ({expected})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: cannot read weights: the file contains a {type(state).__name__} ({expected})")
    if not all(isinstance(tensor, torch.Tensor) for tensor in state.values()):
        raise CheckpointError(f"{path}: cannot read weights: the dict contains values other than tensors ({expected})")
    return state


def write_safetensors(state: dict[str, torch.Tensor], path: Path, *, metadata: dict[str, str] | None = None) -> None:
    """Write tensors to ``path`` atomically (temporary file, then rename)."""
    tensors = {name: tensor.detach().contiguous().cpu() for name, tensor in state.items()}
    with atomic_path(path) as temporary:
        save_file(tensors, temporary, metadata=metadata or {"format": "pt"})
