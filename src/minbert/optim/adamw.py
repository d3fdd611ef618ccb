"""AdamW: Adam with decoupled weight decay (Loshchilov and Hutter, 2019).

For each parameter p with gradient g at step t:

    p   <- p - lr * weight_decay * p                      (decoupled decay)
    m   <- beta1 * m + (1 - beta1) * g
    v   <- beta2 * v + (1 - beta2) * g^2
    p   <- p - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)

Must match ``torch.optim.AdamW`` (amsgrad=False, maximize=False) to 1e-6 over
1,000 steps. The update runs as ``_foreach`` ops over all parameters of a
group, in place, with one scratch tensor per parameter kept in the state. A
fresh buffer on every step would cost a page fault per 4 KiB page, and for
BERT's 12M-entry word embedding that is a large share of the step.
The operations run in torch's order, so the rounding is the same.
"""

import math
from collections.abc import Iterable

import torch
from torch.optim import Optimizer


class AdamW(Optimizer):
    def __init__(
        self,
        params: Iterable[torch.Tensor] | Iterable[dict],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
    ) -> None:
        if not (isinstance(lr, (int, float)) and lr >= 0.0 and math.isfinite(lr)):
            raise ValueError(f"invalid learning rate lr={lr!r}: expected a finite number >= 0")
        if not 0.0 <= eps:
            raise ValueError(f"invalid epsilon eps={eps!r}: expected a number >= 0")
        for index, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"invalid beta betas[{index}]={beta!r}: expected 0 <= beta < 1")
        if not 0.0 <= weight_decay:
            raise ValueError(f"invalid weight_decay={weight_decay!r}: expected a number >= 0")
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; return the closure's loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()

        for group in self.param_groups:
            lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            params, grads, means, variances, scratches = [], [], [], [], []
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise RuntimeError("AdamW does not support sparse gradients")
                state = self.state[param]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["scratch"] = torch.empty_like(param, memory_format=torch.preserve_format)
                state["step"] += 1
                params.append(param)
                grads.append(param.grad)
                means.append(state["exp_avg"])
                variances.append(state["exp_avg_sq"])
                scratches.append(state["scratch"])
            if not params:
                continue

            # All parameters of a group share the step count, so the bias corrections are scalars.
            step = self.state[params[0]]["step"]
            bias_correction1 = 1.0 - beta1**step
            bias_correction2 = 1.0 - beta2**step

            # Decoupled weight decay shrinks the weights directly, not through the gradient.
            if decay != 0.0:
                torch._foreach_mul_(params, 1.0 - lr * decay)

            # First and second moment estimates.
            torch._foreach_lerp_(means, grads, 1.0 - beta1)
            torch._foreach_mul_(variances, beta2)
            torch._foreach_addcmul_(variances, grads, grads, value=1.0 - beta2)

            # p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), the denominator built in scratch.
            for variance, scratch in zip(variances, scratches):
                torch.sqrt(variance, out=scratch)
            torch._foreach_div_(scratches, math.sqrt(bias_correction2))
            torch._foreach_add_(scratches, eps)
            torch._foreach_addcdiv_(params, means, scratches, value=-lr / bias_correction1)
        return loss
