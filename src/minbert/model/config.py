"""BertConfig: the hyper-parameters of a BERT encoder, read from ``config.json``.

Field names follow the Hugging Face ``config.json`` keys so that a folder
written by transformers loads unchanged and a folder saved by minbert loads in
transformers. Keys that do not change the encoder (``architectures``,
``transformers_version``, ...) are ignored on read.
"""

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

from minbert.errors import CheckpointError

Activation = Literal["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"]


@dataclass(frozen=True)
class BertConfig:
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: Activation = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0

    def __post_init__(self) -> None:
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
                     "intermediate_size", "max_position_embeddings", "type_vocab_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size={self.hidden_size} is not divisible by "
                f"num_attention_heads={self.num_attention_heads}"
            )
        if self.hidden_act not in Activation.__args__:
            raise ValueError(f"hidden_act={self.hidden_act!r} is not supported; expected one of {Activation.__args__}")
        for name in ("hidden_dropout_prob", "attention_probs_dropout_prob"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name}={value!r} must be in [0, 1)")

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @classmethod
    def from_json(cls, path: str | Path) -> "BertConfig":
        """Read a Hugging Face ``config.json``; unknown keys are ignored.

        Raises CheckpointError when the file is missing, is not JSON, describes
        a model other than BERT, or contains an invalid value.
        """
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{path}: config file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{path}: cannot read config ({error})") from None
        if not isinstance(raw, dict):
            raise CheckpointError(f"{path}: expected a JSON object, found {type(raw).__name__}")

        model_type = raw.get("model_type", "bert")
        if model_type != "bert":
            raise CheckpointError(f"{path}: model_type={model_type!r} is not a BERT model (expected 'bert')")
        position_type = raw.get("position_embedding_type", "absolute")
        if position_type != "absolute":
            raise CheckpointError(
                f"{path}: position_embedding_type={position_type!r} is not supported (expected 'absolute')"
            )

        known = {field.name for field in fields(cls)}
        try:
            return cls(**{key: value for key, value in raw.items() if key in known})
        except (TypeError, ValueError) as error:
            raise CheckpointError(f"{path}: {error}") from None

    def to_json_dict(self) -> dict:
        """Return the fields plus the keys transformers needs to recognise the model."""
        return {"architectures": ["BertModel"], "model_type": "bert",
                "position_embedding_type": "absolute", **asdict(self)}
