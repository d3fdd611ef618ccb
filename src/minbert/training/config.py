"""FinetuneConfig: the hyper-parameters of a fine-tuning run.

Defaults that depend on the mode (learning rate, epochs) are None here and
resolved by ``resolved()``: training only a linear layer on a frozen encoder
wants a larger learning rate and more (cheap) epochs than training all weights.
The values were chosen by SST-5 dev accuracy with all-MiniLM-L6-v2; the README
lists the runs.
"""

import math
from dataclasses import dataclass, replace
from typing import Literal

from minbert.errors import ParameterError
from minbert.training.classifier import POOLINGS, Pooling

Mode = Literal["full-model", "last-linear-layer"]
MODES: tuple[str, ...] = Mode.__args__

_DEFAULT_LR = {"full-model": 2e-4, "last-linear-layer": 3e-3}
_DEFAULT_EPOCHS = {"full-model": 3, "last-linear-layer": 20}


@dataclass(frozen=True)
class FinetuneConfig:
    mode: Mode = "full-model"
    pooling: Pooling = "mean"
    epochs: int | None = None          # None: 3 for full-model, 20 for last-linear-layer
    lr: float | None = None            # None: 2e-4 for full-model, 3e-3 for last-linear-layer
    batch_size: int = 32
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1          # fraction of all updates spent warming the lr up linearly
    dropout: float = 0.1               # on the sentence representation, before the linear layer
    max_length: int = 128              # tokens per text, [CLS] and [SEP] included; longer texts are cut
    max_grad_norm: float = 1.0         # gradient clipping; 0 turns it off
    seed: int = 11711
    max_train_examples: int | None = None  # the CLI trains on the first N train texts in file order (None: all)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ParameterError("mode", self.mode, f"is not supported (expected one of {', '.join(MODES)})")
        if self.pooling not in POOLINGS:
            raise ParameterError("pooling", self.pooling, f"is not supported (expected one of {', '.join(POOLINGS)})")
        positive_ints = {"batch_size": self.batch_size}
        if self.epochs is not None:
            positive_ints["epochs"] = self.epochs
        if self.max_train_examples is not None:
            positive_ints["max_train_examples"] = self.max_train_examples
        for name, value in positive_ints.items():
            if value < 1:
                raise ParameterError(name, value, "is invalid (expected 1 or more)")
        if self.max_length < 3:
            raise ParameterError("max_length", self.max_length,
                                 "is invalid (expected 3 or more, for [CLS], one token and [SEP])")
        if self.lr is not None and not (self.lr > 0 and math.isfinite(self.lr)):
            raise ParameterError("lr", self.lr, "is invalid (expected a finite number greater than 0)")
        for name in ("warmup_ratio", "dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ParameterError(name, value, "is invalid (expected at least 0 and below 1)")
        for name in ("weight_decay", "max_grad_norm"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ParameterError(name, value, "is invalid (expected a finite number of at least 0)")
        if not 0 <= self.seed < 2**63:
            raise ParameterError("seed", self.seed, "is invalid (expected 0 to 2**63 - 1)")

    def resolved(self) -> "FinetuneConfig":
        """Return a copy with the mode-dependent defaults filled in."""
        return replace(
            self,
            lr=self.lr if self.lr is not None else _DEFAULT_LR[self.mode],
            epochs=self.epochs if self.epochs is not None else _DEFAULT_EPOCHS[self.mode],
        )
