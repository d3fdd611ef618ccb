"""The oneDNN inference path: same numbers as torch's layers, a weight cache that follows updates."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minbert.model import onednn

pytestmark = pytest.mark.skipif(onednn._OPS is None, reason="torch was built without oneDNN")


@pytest.fixture()
def layer() -> nn.Linear:
    torch.manual_seed(0)
    return nn.Linear(48, 80)


def test_fused_ops_match_torch(layer):
    x, residual = torch.randn(37, 48), torch.randn(37, 80)
    with torch.no_grad():
        torch.testing.assert_close(onednn.linear(layer, x), layer(x), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(onednn.linear_gelu(layer, x), F.gelu(layer(x)), rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(onednn.linear_add(layer, x, residual), layer(x) + residual, rtol=1e-5, atol=1e-6)


def test_packed_weight_follows_in_place_update(layer):
    x = torch.randn(5, 48)
    with torch.no_grad():
        before = onednn.linear(layer, x)
        layer.weight.mul_(2.0)
        after = onednn.linear(layer, x)

        torch.testing.assert_close(after, layer(x), rtol=1e-5, atol=1e-6)
        assert not torch.allclose(before, after)


def test_gradients_take_torch_path(layer):
    x = torch.randn(4, 48, requires_grad=True)
    onednn.linear_gelu(layer, x).sum().backward()

    assert x.grad is not None
    assert layer.weight.grad is not None
    assert "_onednn_weight" not in layer.__dict__


def test_disabled_flag_uses_torch(layer, monkeypatch):
    monkeypatch.setattr(onednn, "ENABLED", False)
    with torch.no_grad():
        onednn.linear(layer, torch.randn(3, 48))
    assert "_onednn_weight" not in layer.__dict__


def test_inference_mode_weight_uses_torch():
    torch.manual_seed(0)
    with torch.inference_mode():
        inference_layer = nn.Linear(48, 80)
        x = torch.randn(6, 48)
        output = onednn.linear_gelu(inference_layer, x)

        torch.testing.assert_close(output, F.gelu(inference_layer(x)))
    assert "_onednn_weight" not in inference_layer.__dict__
