"""minbert.AdamW against torch.optim.AdamW."""

import pytest
import torch

from minbert import AdamW


def train_regression(optimizer_class, steps: int, record: list | None = None, **options) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    inputs = torch.randn(64, 8, generator=generator)
    targets = inputs @ torch.randn(8, 1, generator=generator) + 0.1 * torch.randn(64, 1, generator=generator)
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    optimizer = optimizer_class(model.parameters(), **options)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = (model(inputs) - targets).square().mean()
        loss.backward()
        optimizer.step()
        if record is not None:
            record.append(loss.item())
    return torch.cat([parameter.detach().flatten() for parameter in model.parameters()])


@pytest.mark.parametrize(
    "options",
    [
        dict(lr=1e-2, weight_decay=0.1),
        dict(lr=3e-3, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.0),
        dict(lr=1e-3),
    ],
)
def test_matches_torch_adamw_over_1000_steps(options):
    ours = train_regression(AdamW, 1000, **options)
    theirs = train_regression(torch.optim.AdamW, 1000, **options)
    assert (ours - theirs).abs().max().item() < 1e-6


def test_training_lowers_the_loss():
    losses = []
    train_regression(AdamW, 200, lr=1e-2, record=losses)
    assert losses[-1] < 0.5 * losses[0]


def test_first_step_by_hand():
    # With bias correction the first update is lr * g / (|g| + eps) = lr * sign(g), decay on top.
    weight = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    weight.grad = torch.tensor([0.5, -4.0])
    AdamW([weight], lr=0.1, weight_decay=0.5, eps=0.0).step()
    expected = torch.tensor([1.0, -2.0]) * (1 - 0.1 * 0.5) - 0.1 * torch.tensor([1.0, -1.0])
    assert torch.allclose(weight.detach(), expected)


def test_parameters_without_grad_are_skipped():
    used = torch.nn.Parameter(torch.ones(2))
    unused = torch.nn.Parameter(torch.ones(2))
    used.grad = torch.ones(2)
    AdamW([used, unused], lr=0.1).step()
    assert torch.equal(unused.detach(), torch.ones(2))
    assert not torch.equal(used.detach(), torch.ones(2))


@pytest.mark.parametrize(
    "options, message",
    [
        (dict(lr=-1.0), "lr=-1.0"),
        (dict(lr=float("nan")), "lr=nan"),
        (dict(betas=(1.0, 0.999)), r"betas\[0\]=1.0"),
        (dict(betas=(0.9, -0.1)), r"betas\[1\]=-0.1"),
        (dict(eps=-1e-8), "eps=-1e-08"),
        (dict(weight_decay=-0.1), "weight_decay=-0.1"),
    ],
)
def test_rejects_bad_hyper_parameters(options, message):
    with pytest.raises(ValueError, match=message):
        AdamW([torch.nn.Parameter(torch.ones(1))], **options)
