"""Adam and global-norm gradient clipping, written out for the PPO learner.

Why not ``torch.optim.Adam``? The update below is the same arithmetic (a test checks it
step for step against ``torch.optim.Adam``), but creating a ``torch.optim`` optimiser
imports ``torch._dynamo`` (seconds on a small machine, on the first ``build()`` of a
notebook session), and its ``step()`` adds hooks and checks that cost as much as the
update itself on PPO's small networks. The state is plain tensors and numbers, so it
goes into a safetensors checkpoint as it is.

Example:
    >>> import torch
    >>> w = torch.nn.Parameter(torch.tensor([1.0, -1.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> (w ** 2).sum().backward()
    >>> clip_grad_norm([w], max_norm=1.0)  # the norm before clipping
    tensor(2.8284)
    >>> opt.step(); w.detach()  # the first Adam step moves every weight by ~lr
    tensor([ 0.9000, -0.9000])
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import torch

__all__ = ["Adam", "clip_grad_norm"]


class Adam:
    """Adam (Kingma & Ba, 2015) over a fixed list of parameters, one fused op per line.

    For each parameter ``p`` with gradient ``g``, at step ``t``::

        m_t = beta1 m_{t-1} + (1 - beta1) g                 first moment (mean of g)
        v_t = beta2 v_{t-1} + (1 - beta2) g^2               second moment (mean of g^2)
        p  -= lr * (m_t / (1 - beta1^t)) / (sqrt(v_t / (1 - beta2^t)) + eps)

    Parameters whose ``.grad`` is None at a step (not used by the loss) are left alone.
    """

    def __init__(self, params: Iterable[torch.nn.Parameter], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = list(params)
        self.lr, self.betas, self.eps = float(lr), (float(betas[0]), float(betas[1])), float(eps)
        self.exp_avg = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]  # m
        self.exp_avg_sq = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]  # v
        self.steps = [0] * len(self.params)  # t per parameter (a parameter may skip steps)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        idx = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not idx:
            return
        beta1, beta2 = self.betas
        params = [self.params[i] for i in idx]
        grads = [p.grad for p in params]
        m = [self.exp_avg[i] for i in idx]
        v = [self.exp_avg_sq[i] for i in idx]
        torch._foreach_lerp_(m, grads, 1.0 - beta1)  # m = beta1 m + (1 - beta1) g
        torch._foreach_mul_(v, beta2)
        torch._foreach_addcmul_(v, grads, grads, 1.0 - beta2)  # v = beta2 v + (1 - beta2) g^2
        for i in idx:
            self.steps[i] += 1
        if len({self.steps[i] for i in idx}) == 1:  # the usual case: one bias correction for all
            t = self.steps[idx[0]]
            step_size = self.lr / (1.0 - beta1**t)  # lr / (1 - beta1^t): unbiased m
            denom = torch._foreach_sqrt(v)
            torch._foreach_div_(denom, math.sqrt(1.0 - beta2**t))  # sqrt(v / (1 - beta2^t)): unbiased v
            torch._foreach_add_(denom, self.eps)
            torch._foreach_addcdiv_(params, m, denom, -step_size)  # p -= step_size * m / denom
            return
        for p, m_i, v_i, i in zip(params, m, v, idx):  # parameters at different step counts
            t = self.steps[i]
            denom = (v_i.sqrt() / math.sqrt(1.0 - beta2**t)).add_(self.eps)
            p.addcdiv_(m_i, denom, value=-self.lr / (1.0 - beta1**t))

    def set_lr(self, lr: float) -> None:
        self.lr = float(lr)

    # ---------------------------------------------------------------- state

    def state_dict(self) -> dict[str, Any]:
        """Moments (tensors), step counts and hyper-parameters; parameters by position."""
        return {
            "exp_avg": [t.clone() for t in self.exp_avg],
            "exp_avg_sq": [t.clone() for t in self.exp_avg_sq],
            "steps": list(self.steps),
            "lr": self.lr,
            "betas": list(self.betas),
            "eps": self.eps,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        shapes = [tuple(p.shape) for p in self.params]
        saved = [tuple(t.shape) for t in state["exp_avg"]]
        if saved != shapes:
            raise ValueError(
                f"The optimiser state holds moments of shapes {saved}, but this optimiser's parameters "
                f"have shapes {shapes}; it was saved for another architecture."
            )
        with torch.no_grad():
            for dst, src in zip(self.exp_avg + self.exp_avg_sq, list(state["exp_avg"]) + list(state["exp_avg_sq"])):
                dst.copy_(src)
        self.steps = [int(s) for s in state["steps"]]
        self.lr, self.eps = float(state["lr"]), float(state["eps"])
        self.betas = (float(state["betas"][0]), float(state["betas"][1]))

    def __repr__(self) -> str:
        n = sum(p.numel() for p in self.params)
        return f"Adam(lr={self.lr:g}, betas={self.betas}, eps={self.eps:g}, {len(self.params)} tensors, {n} parameters)"


@torch.no_grad()
def clip_grad_norm(params: Iterable[torch.nn.Parameter], max_norm: float | None) -> torch.Tensor:
    """Scale the gradients so that their global L2 norm is at most ``max_norm``; return the
    norm before clipping (``max_norm=None``: measure only)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))  # ||(g_1, ..., g_k)||_2
    if max_norm is not None:
        scale = torch.clamp(max_norm / (norm + 1e-6), max=1.0)  # shrink only, never grow
        torch._foreach_mul_(grads, scale)
    return norm
