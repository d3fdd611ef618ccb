"""Inference-only linear layers through oneDNN, with packed weights and fused post-ops.

Without gradients, a linear layer here runs oneDNN's matrix multiply on a
copy of its weight laid out once in oneDNN's blocked format, instead of
torch's default path. The bias, and a following exact GELU or residual
addition, are applied inside the same kernel instead of as separate passes
over the (N, out) result:

    linear(x)           = x W^T + b
    linear_gelu(x)      = GELU(x W^T + b)
    linear_add(x, r)    = x W^T + b + r

On 2 CPU cores this cut ``SentenceEncoder.encode`` of the 8,544 SST train
sentences from 22.6 s to 19.5 s (docs/benchmarks.md). Results differ from torch's path only in summation
order, by about 1e-6 relative. The packed copy is cached on the layer and
rebuilt when the weight changes (torch bumps a tensor's version counter on
every in-place update, an optimiser step or ``load_state_dict`` included).

Every function falls back to plain torch when gradients are on, when the
input is not a 2-D float32 CPU tensor, when the weight was created under
``torch.inference_mode`` (it has no version counter to detect changes), when
torch was built without oneDNN, or when ``ENABLED`` is False (the tests
switch it off to compare).
"""

import torch
import torch.nn.functional as F
from torch import nn

ENABLED = True


def _find_ops() -> tuple[object, object] | None:
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._linear_pointwise, torch.ops.mkldnn._reorder_linear_weight
    except (AttributeError, RuntimeError):
        return None


_OPS = _find_ops()


def _usable(layer: nn.Linear, x: torch.Tensor) -> bool:
    weight = layer.weight
    # A weight created under torch.inference_mode has no version counter, so a cached copy could go stale.
    return (ENABLED and _OPS is not None and not torch.is_grad_enabled() and x.dim() == 2 and x.shape[0] > 0
            and x.dtype == torch.float32 and x.device.type == "cpu" and weight.dtype == torch.float32
            and not weight.is_inference())


def _packed_weight(layer: nn.Linear) -> torch.Tensor:
    """Return the layer's weight in oneDNN's layout, packing it again after any change to the weight."""
    weight = layer.weight
    key = (weight.data_ptr(), weight._version)
    cached = layer.__dict__.get("_onednn_weight")
    if cached is None or cached[0] != key:
        cached = (key, _OPS[1](weight.detach(), None))
        layer.__dict__["_onednn_weight"] = cached
    return cached[1]


def linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """(N, in) -> (N, out): ``layer(x)``."""
    if not _usable(layer, x):
        return layer(x)
    return _OPS[0](x.contiguous(), _packed_weight(layer), layer.bias, "none", [], "")


def linear_gelu(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """(N, in) -> (N, out): the exact (erf) GELU of ``layer(x)``."""
    if not _usable(layer, x):
        return F.gelu(layer(x))
    return _OPS[0](x.contiguous(), _packed_weight(layer), layer.bias, "gelu", [], "none")


def linear_add(layer: nn.Linear, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
    """(N, in), (N, out) -> (N, out): ``layer(x) + residual``."""
    if not _usable(layer, x):
        return layer(x) + residual
    return _OPS[0].binary(x.contiguous(), residual.contiguous(), _packed_weight(layer), layer.bias, "add")
