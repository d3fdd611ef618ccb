"""BertModel: the BERT encoder (Devlin et al., 2019) on packed real tokens.

    h_0 = LayerNorm(E_word[x] + E_pos[t] + E_type[s])
    h_l = EncoderLayer(h_{l-1}),  l = 1..L        (post-LN, see ``layers``)
    pooler_output = tanh(W h_L[CLS] + b)

The dense layers run on the real tokens only (``packing``); padding costs
only inside attention, where rows of similar length are padded to the
longest. Loads any Hugging Face BERT folder and must match transformers'
``BertModel`` within 1e-5 in eval mode, padded positions excluded (which hold
zeros here, and arbitrary values in transformers).

Legend: B batch, T tokens per row, N real tokens in the batch, C hidden size.

Limitations: absolute position embeddings only; no cross-attention, no
key/value cache, no head masking.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from minbert.errors import CheckpointError
from minbert.model.checkpoint import from_hf_state_dict, read_weights, to_hf_state_dict, write_safetensors
from minbert.model.config import BertConfig
from minbert.model.layers import EncoderLayer, Embeddings, Pooler
from minbert.model.packing import INFERENCE_KEY_MULTIPLE, Packing
from minbert.atomic import write_text_atomic


@dataclass(frozen=True)
class PackedStates:
    """Final hidden states of the real tokens only, with the layout to unpack them."""

    hidden: torch.Tensor      # (N, C)
    packing: Packing


@dataclass(frozen=True)
class BertOutput:
    last_hidden_state: torch.Tensor   # (B, T, C), zeros at padded positions
    pooler_output: torch.Tensor       # (B, C)


class BertModel(nn.Module):
    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = Embeddings(config)
        self.layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.num_hidden_layers))
        self.pooler = Pooler(config)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        """BERT's initialisation: normal(0, 0.02) weights, zero biases, unit LayerNorm."""
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear):
            nn.init.zeros_(module.bias)
        if isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def encode_packed(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> PackedStates:
        """Run the encoder and keep the states of the real tokens only.

        input_ids, attention_mask, token_type_ids: (B, T) integer tensors;
        a missing mask means no padding, missing token types mean segment 0.
        """
        B, T = input_ids.shape
        if T > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence length {T} exceeds max_position_embeddings={self.config.max_position_embeddings}"
            )
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)

        # Padded keys were measured on CPU only (see ``packing``).
        padded_keys = input_ids.device.type == "cpu" and not torch.is_grad_enabled()
        key_multiple = INFERENCE_KEY_MULTIPLE if padded_keys else 1
        packing = Packing.from_mask(attention_mask, dtype=self.embeddings.word.weight.dtype, key_multiple=key_multiple)
        hidden = self.embeddings(input_ids, token_type_ids, packing)    # (N, C)
        for layer in self.layers:
            hidden = layer(hidden, packing)                             # (N, C)
        return PackedStates(hidden=hidden, packing=packing)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
    ) -> BertOutput:
        """(B, T) ids -> BertOutput with (B, T, C) states and the (B, C) pooled [CLS]."""
        states = self.encode_packed(input_ids, attention_mask, token_type_ids)
        last_hidden_state = states.packing.unpack(states.hidden)        # (B, T, C)
        pooler_output = self.pooler(last_hidden_state[:, 0])            # (B, C)
        return BertOutput(last_hidden_state=last_hidden_state, pooler_output=pooler_output)

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> "BertModel":
        """Load a Hugging Face-format BERT folder (config.json + model.safetensors or pytorch_model.bin).

        Raises CheckpointError naming the folder when it is missing, is not a
        BERT, or contains tensors that do not fit its config.
        """
        folder = Path(folder)
        if folder.is_file():
            raise CheckpointError(f"{folder}: is a file (expected a model folder with config.json and weights)")
        if not folder.is_dir():
            raise CheckpointError(f"{folder}: model folder not found")
        config = BertConfig.from_json(folder / "config.json")
        model = cls(config)
        hf_state, weights_file = read_weights(folder)
        state = from_hf_state_dict(hf_state, model.state_dict(), source=str(weights_file))
        model.load_state_dict(state)
        model.eval()
        return model

    def save_pretrained(self, folder: str | Path) -> None:
        """Write config.json and model.safetensors with Hugging Face names, each file atomically."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(folder / "config.json", json.dumps(self.config.to_json_dict(), indent=2) + "\n")
        write_safetensors(to_hf_state_dict(self.state_dict()), folder / "model.safetensors")
