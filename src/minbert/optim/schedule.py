"""Learning-rate schedule: linear warm-up, then linear decay to zero.

    lr(t) = lr_max * t / W                  for t < W
    lr(t) = lr_max * (S - t) / (S - W)      for W <= t <= S

with W warm-up steps and S total steps, as transformers'
``get_linear_schedule_with_warmup``.
"""

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LambdaLR


def linear_warmup_decay(optimizer: Optimizer, *, warmup_steps: int, total_steps: int) -> LambdaLR:
    """Return a scheduler that scales each group's lr by the warm-up/decay factor; step it once per update."""
    if total_steps < 1:
        raise ValueError(f"total_steps={total_steps} must be at least 1")
    if not 0 <= warmup_steps <= total_steps:
        raise ValueError(f"warmup_steps={warmup_steps} must be between 0 and total_steps={total_steps}")

    def factor(step: int) -> float:
        if step < warmup_steps:
            return step / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return LambdaLR(optimizer, factor)
