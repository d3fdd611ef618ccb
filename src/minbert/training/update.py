"""One optimisation step, shared by the classifier, Sentence-BERT and multitask training loops.

    check the loss is finite -> zero the gradients -> backpropagate
    -> clip the global gradient norm (when max_grad_norm > 0) -> optimizer step -> scheduler step
"""

from collections.abc import Iterable

import torch

from minbert.errors import MinbertError


class TrainingError(MinbertError):
    """Training cannot go on, for example because the loss became NaN or infinite."""


def check_finite_loss(loss: torch.Tensor, *, name: str, where: str, lr: float, saved: str) -> None:
    """Raise TrainingError when ``loss`` is NaN or infinite, naming where it happened and what to try.

    ``name`` is the loss's name in the message ("loss", "sts loss"), ``where``
    the position ("epoch 2, batch 7"), and ``saved`` what the last save wrote.
    """
    if not torch.isfinite(loss):
        raise TrainingError(
            f"training diverged: the {name} is {loss.item()} at {where}; "
            f"try a smaller learning rate than lr={lr:g} (the last saved {saved} is unchanged)"
        )


def apply_update(loss: torch.Tensor, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, parameters: Iterable[torch.nn.Parameter], *,
                 max_grad_norm: float) -> None:
    """Backpropagate ``loss`` and take one optimizer and scheduler step, clipping when ``max_grad_norm > 0``."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()
    scheduler.step()
