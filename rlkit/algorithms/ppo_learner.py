"""The PPO learner: how a batch of experience becomes a gradient step on every RLModule.

Read it top to bottom. First the loss, as pure functions of tensors (each line of maths
is the line that computes it); then :class:`PPOLearner`, which feeds minibatches through
each module's ``forward_train``, sums the per-module losses, and takes one optimiser
step per module.

The PPO objective (Schulman et al. 2017) for one module, over a minibatch of steps t::

    r_t(theta) = pi_theta(a_t | s_t) / pi_old(a_t | s_t)                      probability ratio
    L_clip     = -E_t[ min(r_t A_t, clip(r_t, 1 - eps, 1 + eps) A_t) ]          policy loss
    L_vf       =  E_t[ (V_theta(s_t) - R_t)^2 ]   (clipped at vf_clip_param)    value loss
    L          =  L_clip + c_vf L_vf - c_ent E_t[ H(pi_theta(. | s_t)) ]  (+ beta KL)

where ``A_t`` are GAE advantages and ``R_t = A_t + V_old(s_t)`` the value targets, both
computed once per iteration from the sampled rollout (:mod:`rlkit.rollouts.gae`).
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any, Mapping

import torch
from torch import nn

from rlkit.algorithms.optim import Adam, clip_grad_norm
from rlkit.columns import Columns

if TYPE_CHECKING:
    from rlkit.multi_rl_module import MultiRLModule

__all__ = [
    "PPOLearner",
    "masked_mean",
    "normalize_advantages",
    "clipped_surrogate_loss",
    "value_function_loss",
    "explained_variance",
]

# ===================================================================================
# 1. The loss, as pure functions. `mask` is None (every step counts) or a (B,) / (B, T)
#    float tensor that is 1 on real steps and 0 on the padding of recurrent sequences.
# ===================================================================================


def masked_mean(x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean of ``x`` over the steps where ``mask`` is 1 (all steps when ``mask`` is None)."""
    if mask is None:
        return x.mean()
    return (x * mask).sum() / mask.sum().clamp_min(1.0)  # padded steps add 0 and are not counted


def normalize_advantages(adv: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Standardise advantages: ``(A - mean A) / (std A + 1e-8)`` over the (unmasked) steps.

    Example:
        >>> normalize_advantages(torch.tensor([1.0, 2.0, 3.0]))
        tensor([-1.2247,  0.0000,  1.2247])
    """
    mean = masked_mean(adv, mask)  # scalar
    var = masked_mean((adv - mean).square(), mask)  # scalar, population variance
    return (adv - mean) / (var.sqrt() + 1e-8)  # same shape as adv


def clipped_surrogate_loss(
    logp: torch.Tensor,
    logp_old: torch.Tensor,
    advantages: torch.Tensor,
    clip_param: float,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """PPO's clipped surrogate ``L_clip``, and the probability ratios it used.

    Example:
        >>> loss, ratio = clipped_surrogate_loss(torch.log(torch.tensor([0.9])),
        ...     torch.log(torch.tensor([0.5])), torch.tensor([1.0]), clip_param=0.2)
        >>> round(loss.item(), 4), round(ratio.item(), 4)  # ratio 1.8 is clipped to 1.2
        (-1.2, 1.8)
    """
    # (B,) r_t = pi(a|s) / pi_old(a|s), from log-probs; the log-ratio is capped at 20 so that a
    # policy that moved absurdly far (e^20) gives a large but finite loss instead of inf / NaN.
    ratio = torch.exp(torch.clamp(logp - logp_old, max=20.0))
    unclipped = ratio * advantages  # (B,) r_t A_t
    clipped = torch.clamp(ratio, 1.0 - clip_param, 1.0 + clip_param) * advantages  # (B,) clip(r_t) A_t
    # The min makes the objective a pessimistic bound: moving the ratio outside
    # [1 - eps, 1 + eps] in the direction that helps earns nothing, so no gradient pushes it further.
    return -masked_mean(torch.min(unclipped, clipped), mask), ratio  # minimise -E[min(...)]


def value_function_loss(
    vf_preds: torch.Tensor,
    value_targets: torch.Tensor,
    vf_clip_param: float | None = None,
    mask: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared value error ``L_vf``, clipped per step at ``vf_clip_param`` as RLlib does;
    returns ``(loss, unclipped loss)``.

    The pitfall: a clipped step has zero gradient, so with large returns (errors above the
    clip) the critic stops learning. rlkit's default is no clipping (``None``).

    Example:
        >>> value_function_loss(torch.tensor([0.0, 0.0]), torch.tensor([1.0, 3.0]), vf_clip_param=4.0)[0]
        tensor(2.5000)
    """
    squared_error = (vf_preds - value_targets).square()  # (B,) (V(s_t) - R_t)^2
    unclipped = masked_mean(squared_error, mask)
    if vf_clip_param is None:
        return unclipped, unclipped
    return masked_mean(torch.clamp(squared_error, max=vf_clip_param), mask), unclipped  # (B,) -> scalar


def explained_variance(vf_preds: torch.Tensor, value_targets: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """``1 - Var[R - V] / Var[R]``: 1 is a perfect critic, 0 no better than a constant, NaN
    when the targets do not vary.

    Example:
        >>> explained_variance(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0]))
        tensor(0.8571)
    """
    def var(x: torch.Tensor) -> torch.Tensor:
        return masked_mean((x - masked_mean(x, mask)).square(), mask)  # population variance

    var_targets = var(value_targets)
    ev = 1.0 - var(value_targets - vf_preds) / var_targets  # fraction of return variance V explains
    return torch.where(var_targets > 0, ev, torch.full_like(ev, math.nan))


# ===================================================================================
# 2. The learner: minibatches -> forward_train -> losses summed -> one backward -> steps.
# ===================================================================================


class PPOLearner:
    """Updates the modules of a :class:`~rlkit.MultiRLModule` with PPO, one optimiser each.

    One update (:meth:`update`) makes ``num_epochs`` passes over the train batch. Each
    pass shuffles every module's samples and splits them into the same number ``K`` of
    near-equal minibatches (``K = max_m round(n_m / minibatch_size)``), so every module takes ``K``
    steps per pass even when the modules saw different numbers of agent steps. For each
    minibatch: every module runs ``forward_train``, its loss is computed
    (:meth:`compute_loss_for_module`), the per-module losses are **summed into one scalar
    and back-propagated once**, each module's gradients are clipped to ``grad_clip``
    (global norm over its parameters), and each module's Adam optimiser steps
    (:mod:`rlkit.algorithms.optim`).

    **Shared parameters.** Parameters are de-duplicated across optimisers: the modules are
    visited in order, and a module's optimiser gets only the parameters no earlier module's
    optimiser owns (by identity). Because the losses are summed before the single
    backward pass, a shared parameter's ``.grad`` already holds the sum of every module's
    gradient, and the one optimiser that owns it applies it once. So two module ids mapped
    to the same torch module train as one module (the second id has no optimiser of its
    own), and modules sharing an encoder update it with both losses (its gradient is
    clipped together with the owning module's other parameters). Inside one module,
    a policy and value head on a shared encoder need nothing special: ``parameters()``
    lists the encoder once, and ``vf_loss_coeff`` weighs how much the value loss shapes it.

    **Recurrent modules** train on ``(S, L)`` sequences: the batch carries
    ``Columns.STATE_IN`` (the state at each sequence start, ``(S, ...)``) and
    ``Columns.LOSS_MASK`` (``(S, L)``, 0 on padding); every mean above is masked.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import MultiRLModule, RLModuleSpec
        >>> from rlkit.algorithms import PPOConfig
        >>> spec = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2))
        >>> learner = PPOLearner(MultiRLModule({"default_policy": spec.build()}), PPOConfig())
        >>> learner.optimizers  # doctest: +ELLIPSIS
        {'default_policy': Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-05, 8 tensors, ...)}
    """

    def __init__(self, module: MultiRLModule, config: Any, module_ids: list[str] | None = None) -> None:
        self.module = module
        self.config = config
        self.module_ids = list(module.keys()) if module_ids is None else list(module_ids)
        lr = config.get_schedule_value("lr", 0)
        self.params: dict[str, list[nn.Parameter]] = {}
        self.optimizers: dict[str, Adam] = {}
        owned: set[int] = set()
        for mid in self.module_ids:
            params = [p for p in module[mid].parameters() if p.requires_grad and id(p) not in owned]
            owned.update(id(p) for p in params)
            self.params[mid] = params
            if params:  # a module whose parameters all belong to an earlier one has no optimiser
                self.optimizers[mid] = Adam(params, lr=lr, eps=1e-5)
        self.kl_coeffs = {mid: float(config.kl_coeff) for mid in self.module_ids}
        self._warned: set[str] = set()

    # ---------------------------------------------------------------- the loss of one module

    def compute_loss_for_module(
        self,
        module_id: str,
        batch: Mapping[str, Any],
        fwd_out: Mapping[str, Any],
        entropy_coeff: float,
        diagnostics: bool = True,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``L`` for one module on one minibatch, and its statistics (detached tensors).

        The loss terms are always reported; ``diagnostics`` adds the KL divergence from the
        sampling policy, the clip fraction and the critic's explained variance.
        """
        cfg, module = self.config, self.module[module_id]
        mask = batch.get(Columns.LOSS_MASK)  # None, or (S, L) for recurrent sequences
        dist_cls = module.get_train_action_dist_cls()
        dist = dist_cls.from_logits(fwd_out[Columns.ACTION_DIST_INPUTS])  # pi_theta(. | s_t)
        logp = dist.logp(batch[Columns.ACTIONS])  # (B,) log pi_theta(a_t | s_t)
        adv = batch[Columns.ADVANTAGES]  # (B,) A_t from GAE
        if cfg.normalize_advantages:
            adv = normalize_advantages(adv, mask)
        policy_loss, ratio = clipped_surrogate_loss(logp, batch[Columns.ACTION_LOGP], adv, cfg.clip_param, mask)
        vf_preds = fwd_out[Columns.VF_PREDS]  # (B,) V_theta(s_t)
        vf_loss, vf_loss_unclipped = value_function_loss(vf_preds, batch[Columns.VALUE_TARGETS], cfg.vf_clip_param, mask)
        entropy = masked_mean(dist.entropy(), mask)  # E_t[H(pi_theta(. | s_t))]
        total = policy_loss + cfg.vf_loss_coeff * vf_loss - entropy_coeff * entropy  # L
        kl = None
        if cfg.use_kl_loss or diagnostics:
            with torch.set_grad_enabled(cfg.use_kl_loss):
                kl = self._kl(dist_cls, dist, logp, batch, mask)  # KL(pi_old || pi_theta)
            if cfg.use_kl_loss:
                total = total + self.kl_coeffs[module_id] * kl  # + beta KL, RLlib's adaptive penalty
        stats = {
            "total_loss": total.detach(),
            "policy_loss": policy_loss.detach(),
            "vf_loss": vf_loss.detach(),
            "vf_loss_unclipped": vf_loss_unclipped.detach(),
            "entropy": entropy.detach(),
        }
        if diagnostics:
            with torch.no_grad():
                stats["kl"] = kl.detach()
                stats["clip_fraction"] = masked_mean(((ratio - 1.0).abs() > cfg.clip_param).float(), mask)
                stats["vf_explained_var"] = explained_variance(vf_preds.detach(), batch[Columns.VALUE_TARGETS], mask)
        return total, stats

    @staticmethod
    def _kl(dist_cls: Any, dist: Any, logp: torch.Tensor, batch: Mapping[str, Any], mask: torch.Tensor | None) -> torch.Tensor:
        if Columns.ACTION_DIST_INPUTS in batch:  # exact, from the sampling policy's recorded inputs
            return masked_mean(dist_cls.from_logits(batch[Columns.ACTION_DIST_INPUTS]).kl(dist), mask)
        log_ratio = logp - batch[Columns.ACTION_LOGP]  # k3 estimator: E[(r - 1) - log r] >= 0, unbiased
        return masked_mean(torch.expm1(log_ratio) - log_ratio, mask)

    # ---------------------------------------------------------------- one update

    def update(self, batch: Mapping[str, Mapping[str, Any]], env_steps: int = 0) -> dict[str, dict[str, float]]:
        """``num_epochs`` passes of minibatch steps over ``batch`` = ``{module_id: train batch}``.

        A train batch maps Columns to tensors with a leading sample dim ``n`` (flat steps) or
        ``(S, L)`` (recurrent sequences, with ``STATE_IN`` and ``LOSS_MASK``); it needs OBS,
        ACTIONS, ACTION_LOGP, ADVANTAGES and VALUE_TARGETS. ``env_steps`` (lifetime env steps
        sampled) sets the scheduled ``lr`` and ``entropy_coeff``. Returns per module the mean
        over all minibatch steps of the losses (``total_loss``, ``policy_loss``, ``vf_loss``,
        ``entropy``) and ``grad_norm`` (before clipping); ``kl``, ``clip_fraction`` and
        ``vf_explained_var`` are means over the last epoch's minibatches (they measure how far
        the whole update moved the policy, at a tenth of the cost); and ``lr``.
        """
        cfg = self.config
        ids = [mid for mid in self.module_ids if mid in batch and _num_samples(batch[mid]) > 0]
        if not ids:
            return {}
        lr = cfg.get_schedule_value("lr", env_steps)
        entropy_coeff = cfg.get_schedule_value("entropy_coeff", env_steps)
        for opt in self.optimizers.values():
            opt.set_lr(lr)
        sizes = {mid: _num_samples(batch[mid]) for mid in ids}
        per_mb = {mid: self._samples_per_minibatch(batch[mid]) for mid in ids}
        # K = n / minibatch_size, rounded: a batch a few steps over train_batch_size (the sampler
        # stops at the end of a vector step) still makes one minibatch, not a second tiny one.
        num_minibatches = max(max(1, int(sizes[mid] / per_mb[mid] + 0.5)) for mid in ids)  # K
        stats: dict[str, list[dict[str, torch.Tensor]]] = {mid: [] for mid in ids}
        for epoch in range(cfg.num_epochs):
            last_epoch = epoch == cfg.num_epochs - 1  # diagnostics (KL, clip fraction, ...) measured here
            splits = {mid: torch.randperm(sizes[mid]).tensor_split(num_minibatches) for mid in ids}
            for k in range(num_minibatches):
                total: torch.Tensor | int = 0
                for mid in ids:
                    idx = splits[mid][k]
                    if idx.numel() == 0:
                        continue
                    mb = _take(batch[mid], idx)  # the k-th minibatch of this module's samples
                    fwd_out = self.module[mid].forward_train(mb)
                    loss, mb_stats = self.compute_loss_for_module(mid, mb, fwd_out, entropy_coeff, last_epoch)
                    total = total + loss  # losses of all modules summed: one backward pass
                    stats[mid].append(mb_stats)
                if not isinstance(total, torch.Tensor):
                    continue
                for opt in self.optimizers.values():
                    opt.zero_grad()
                total.backward()  # one backward pass through the summed loss of all modules
                for mid in ids:
                    if mid not in self.optimizers:
                        continue
                    # clip the global gradient norm of this module's parameters, then one Adam step
                    norm = clip_grad_norm(self.params[mid], self.config.grad_clip)
                    stats[mid][-1]["grad_norm"] = norm
                    if torch.isfinite(norm):
                        self.optimizers[mid].step()
                    else:  # an inf / NaN gradient would poison every weight: skip this step
                        stats[mid][-1]["num_skipped_updates"] = torch.tensor(1.0)
                        self._warn_skipped(mid)
        return self._summarise(stats, lr, entropy_coeff)

    def _warn_skipped(self, module_id: str) -> None:
        if module_id in self._warned:
            return
        self._warned.add(module_id)
        warnings.warn(
            f"PPOLearner skipped an update of module {module_id!r}: its gradient was inf or NaN (the "
            "metric 'num_skipped_updates' counts them). Usually the learning rate is too high for "
            "the batch; lower lr, or set grad_clip and vf_clip_param.",
            RuntimeWarning,
            stacklevel=3,
        )

    def _samples_per_minibatch(self, batch: Mapping[str, Any]) -> int:
        mb = self.config.minibatch_size
        n = _num_samples(batch)
        if mb is None:
            return n
        if Columns.LOSS_MASK in batch:  # sequences: minibatch_size counts time steps
            seq_len = batch[Columns.LOSS_MASK].shape[1]
            return max(1, mb // seq_len)
        return mb

    def _summarise(
        self, stats: dict[str, list[dict[str, torch.Tensor]]], lr: float, entropy_coeff: float
    ) -> dict[str, dict[str, float]]:
        out = {}
        for mid, rows in stats.items():
            keys = {k for row in rows for k in row} - {"num_skipped_updates"}
            summary = {k: torch.stack([row[k] for row in rows if k in row]).float().nanmean().item() for k in sorted(keys)}
            summary["num_skipped_updates"] = float(sum(1 for row in rows if "num_skipped_updates" in row))
            summary["lr"] = lr
            summary["entropy_coeff"] = entropy_coeff
            if self.config.use_kl_loss:  # RLlib's adaptive KL coefficient, updated once per iteration
                kl = summary["kl"]
                if kl > 2.0 * self.config.kl_target:
                    self.kl_coeffs[mid] *= 1.5
                elif kl < 0.5 * self.config.kl_target:
                    self.kl_coeffs[mid] *= 0.5
                summary["kl_coeff"] = self.kl_coeffs[mid]
            summary["num_minibatch_updates"] = float(len(rows))
            out[mid] = summary
        return out

    # ---------------------------------------------------------------- state (checkpoints)

    def get_state(self) -> dict[str, Any]:
        """Optimiser states and KL coefficients (tensors and plain numbers only)."""
        return {
            "optimizers": {mid: opt.state_dict() for mid, opt in self.optimizers.items()},
            "kl_coeffs": dict(self.kl_coeffs),
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        for mid, opt_state in state.get("optimizers", {}).items():
            if mid not in self.optimizers:
                raise KeyError(
                    f"Optimiser state for module id {mid!r}, which has no optimiser here. "
                    f"Optimisers: {sorted(self.optimizers)}."
                )
            self.optimizers[mid].load_state_dict(opt_state)
        self.kl_coeffs.update({k: float(v) for k, v in state.get("kl_coeffs", {}).items()})


def _num_samples(batch: Mapping[str, Any]) -> int:
    return int(batch[Columns.ADVANTAGES].shape[0])


def _take(batch: Mapping[str, Any], idx: torch.Tensor) -> dict[str, Any]:
    """Rows ``idx`` of every tensor in a (possibly nested: Dict/Tuple obs, STATE_IN) batch."""
    def take(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            return x.index_select(0, idx)
        if isinstance(x, Mapping):
            return {k: take(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return tuple(take(v) for v in x)
        return x

    return {k: take(v) for k, v in batch.items()}
