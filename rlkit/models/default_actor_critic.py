"""`DefaultActorCritic`: the module ``RLModuleSpec(...).build()`` gives for any supported spaces."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rlkit.columns import Columns
from rlkit.models.catalog import (
    UnsupportedSpaceError,
    build_encoder,
    build_recurrent_encoder,
    check_action_space,
    check_observation_space,
)
from rlkit.models.config import resolve_model_config
from rlkit.models.heads import PolicyHead, ValueHead
from rlkit.rl_module import RLModule

__all__ = ["DefaultActorCritic", "ACTION_MASK_KEY"]

#: The Dict-observation entry read as an action mask (gymnasium's convention); 1 = allowed.
ACTION_MASK_KEY = "action_mask"


class DefaultActorCritic(RLModule):
    """An actor-critic for any supported spaces: encoder(s), optional LSTM / GRU, policy and value heads.

    The encoder comes from :func:`rlkit.models.catalog.build_encoder` (one-hot for discrete
    parts, a CNN for images, flatten for n-D boxes, a composite for Dict / Tuple, then an
    ``fcnet_hiddens`` MLP). With ``vf_share_layers=True`` (the default) the value head reads
    the policy's encoder; otherwise the critic has its own (``vf_encoder``). Settings come
    from ``model_config`` (a :class:`DefaultModelConfig` or a dict of its fields).

    Outputs (``B`` = batch size, ``n`` = ``required_input_dim(action_space)``):

    * ``Columns.ACTION_DIST_INPUTS`` ``(B, n)``: logits / mean and log std, masked actions
      set to ``torch.finfo(dtype).min`` (every pass);
    * ``Columns.EMBEDDINGS`` ``(B, d)``: what the policy head reads (every pass);
    * ``Columns.VF_PREDS`` ``(B,)``: every pass, not in inference-only modules. ``act()``
      asks for the policy only (``values=False``) and skips the critic unless the critic
      carries its own recurrent state; :meth:`compute_values` gives values on demand.

    Recurrent (``use_lstm=True`` or ``use_gru=True``): ``get_initial_state()`` is
    ``{"h": (H,), "c": (H,)}`` (LSTM; GRU: ``{"h"}``; a separate critic adds ``"vf_h"`` /
    ``"vf_c"``). The batch carries ``Columns.STATE_IN`` (each ``(B, H)``) and observations
    ``(B, *obs_shape)`` for one step, or ``(B, T, *obs_shape)`` for sequences; outputs are
    then ``(B, T, n)``, ``(B, T)`` and ``(B, T, d)``, and ``Columns.STATE_OUT`` is the state
    after the last step (per row, the last valid step when ``Columns.SEQ_LENS`` is given).

    Action masks: a ``Dict`` observation with an ``"action_mask"`` entry (not encoded as a
    feature) or ``batch[Columns.ACTION_MASK]``, shape ``(B, n)`` for ``Discrete(n)`` and
    ``(B, sum(nvec))`` for ``MultiDiscrete``, 1 / True = allowed.

    Example:
        >>> import gymnasium as gym, numpy as np
        >>> from rlkit import RLModuleSpec
        >>> env = gym.make("CartPole-v1")
        >>> module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space,
        ...                       model_config={"fcnet_hiddens": [64, 64]}).build()
        >>> type(module).__name__, module.get_non_inference_attributes()
        ('DefaultActorCritic', ['vf_head'])
        >>> obs, _ = env.reset(seed=0)
        >>> int(module.act(obs)) in (0, 1)
        True
    """

    # ------------------------------------------------------------------ building

    def setup(self) -> None:
        #: The validated :class:`DefaultModelConfig` built from ``model_config``.
        self.config = config = resolve_model_config(self.model_config)
        obs_space, act_space = self.observation_space, self.action_space
        for name, space in (("observation_space", obs_space), ("action_space", act_space)):
            if space is None:
                raise ValueError(f"DefaultActorCritic needs an {name}, got None. Pass {name}=...")
        check_observation_space(obs_space)
        check_action_space(act_space)
        encoder_space = self._split_action_mask(obs_space, act_space)

        self.encoder = build_encoder(encoder_space, config)
        self.rnn = build_recurrent_encoder(self.encoder.output_dim, config)
        width = (self.rnn if self.rnn is not None else self.encoder).output_dim  # what the heads read
        head_kwargs = {
            f"{part}_initializer{suffix}": getattr(config, f"head_fcnet_{part}_initializer{suffix}")
            for part in ("kernel", "bias")
            for suffix in ("", "_kwargs")
        }
        self.pi_head = PolicyHead(
            width, act_space, config.head_fcnet_hiddens, config.head_fcnet_activation,
            free_log_std=config.free_log_std, log_std_clip_param=config.log_std_clip_param, **head_kwargs,
        )
        self._shared = config.vf_share_layers
        self._has_vf = not self.inference_only
        if self._has_vf:
            if not self._shared:
                self.vf_encoder = build_encoder(encoder_space, config)
                self.vf_rnn = build_recurrent_encoder(self.vf_encoder.output_dim, config)
            self.vf_head = ValueHead(width, config.head_fcnet_hiddens, config.head_fcnet_activation, **head_kwargs)
        self._critic_state = self._has_vf and not self._shared and self.rnn is not None

    def _split_action_mask(self, obs_space: gym.Space, act_space: gym.Space) -> gym.Space:
        """Find an ``"action_mask"`` entry, check it fits the action space; return the space to encode."""
        self._mask_key: str | None = None
        if not (isinstance(obs_space, gym.spaces.Dict) and ACTION_MASK_KEY in obs_space.spaces):
            return obs_space
        mask_space = obs_space[ACTION_MASK_KEY]
        width = _mask_width(act_space)
        if width is None:
            raise UnsupportedSpaceError(
                f"The observation has an {ACTION_MASK_KEY!r} entry, but action masks work with Discrete and "
                f"1-D MultiDiscrete action spaces; got {act_space}. Rename the entry if it is not an "
                f"action mask, or use a Discrete / MultiDiscrete action space."
            )
        shape = tuple(getattr(mask_space, "shape", None) or ())
        if not isinstance(mask_space, (gym.spaces.Box, gym.spaces.MultiBinary)) or shape != (width,):
            raise UnsupportedSpaceError(
                f"The observation's {ACTION_MASK_KEY!r} entry {mask_space} does not fit the action space "
                f"{act_space}: expected a MultiBinary({width}) or a Box of shape ({width},), 1 = allowed."
            )
        rest = {k: s for k, s in obs_space.spaces.items() if k != ACTION_MASK_KEY}
        if not rest:
            raise UnsupportedSpaceError(
                f"The observation {obs_space} holds only an {ACTION_MASK_KEY!r}: nothing to encode. "
                "Add the actual observation as another Dict entry."
            )
        self._mask_key = ACTION_MASK_KEY
        return gym.spaces.Dict(rest)

    # ------------------------------------------------------------------ forward

    #: act() needs the policy only: it asks the passes to skip the critic (see RLModule.act).
    _act_forward_kwargs = {"values": False}

    def _forward(self, batch: dict[str, Any], values: bool = True, **kwargs: Any) -> dict[str, Any]:
        # Every pass predicts values (unless inference-only), except when act() asks for the
        # policy alone; a critic with its own recurrent state must still see every step.
        return self._actor_critic(batch, self._has_vf and (values or self._critic_state))

    def _actor_critic(self, batch: dict[str, Any], values: bool) -> dict[str, Any]:
        obs = batch[Columns.OBS]
        if self.rnn is None:
            emb = self.encoder(obs)  # (B, *obs_shape) -> (B, d)
            state_out = None
        else:
            state_in = self._state_in(batch)
            seq_lens = batch.get(Columns.SEQ_LENS)
            # (B[, T], *obs_shape) -> (B[, T], d) -> (B[, T], H); state {k: (B, H)}
            emb, state_out = self.rnn(self.encoder(obs), state_in, seq_lens)
        logits = self.pi_head(emb)  # (B[, T], d) -> (B[, T], n)
        mask = batch.get(Columns.ACTION_MASK)
        if mask is None and self._mask_key is not None:
            mask = obs[self._mask_key]
        if mask is not None:
            logits = self._masked(logits, mask)
        out = {Columns.ACTION_DIST_INPUTS: logits, Columns.EMBEDDINGS: emb}
        if values:
            if self._shared:
                out[Columns.VF_PREDS] = self.vf_head(emb)  # (B[, T], d) -> (B[, T])
            else:
                vf_emb, vf_state = self._critic_embeddings(obs, batch)
                out[Columns.VF_PREDS] = self.vf_head(vf_emb)
                if vf_state is not None:
                    state_out.update({f"vf_{k}": v for k, v in vf_state.items()})
        if state_out is not None:
            out[Columns.STATE_OUT] = state_out
        return out

    def compute_values(self, batch: dict[str, Any], embeddings: torch.Tensor | None = None) -> torch.Tensor:
        """Value predictions ``(B,)`` (``(B, T)`` for sequences), in the caller's grad mode.

        ``embeddings``: the policy encoder's output for this batch, reused when the layers
        are shared (saves a second encoder pass). Recurrent modules need ``Columns.STATE_IN``.
        """
        if not self._has_vf:
            raise RuntimeError(
                "compute_values() was called on an inference-only DefaultActorCritic, which has no value "
                "function. Build it with inference_only=False."
            )
        batch = self._prepare_batch(batch)
        if not self._shared:
            return self.vf_head(self._critic_embeddings(batch[Columns.OBS], batch)[0])
        if embeddings is None:
            embeddings = self.encoder(batch[Columns.OBS])
            if self.rnn is not None:
                embeddings, _ = self.rnn(embeddings, self._state_in(batch), batch.get(Columns.SEQ_LENS))
        return self.vf_head(embeddings)

    def _critic_embeddings(self, obs: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, dict | None]:
        emb = self.vf_encoder(obs)
        if self.vf_rnn is None:
            return emb, None
        state = self._state_in(batch)
        keys = [f"vf_{k}" for k in self.vf_rnn.state_keys]
        missing = [k for k in keys if k not in state]
        if missing:
            raise KeyError(
                f"This DefaultActorCritic's critic has its own {self.config.recurrent_cell} state: expected "
                f"batch[Columns.STATE_IN] to have keys {sorted(self.get_initial_state())}, missing {missing}. "
                "Start from this module's get_initial_state() (an inference-only module's state has no "
                "critic part)."
            )
        vf_state = {k: state[key] for k, key in zip(self.vf_rnn.state_keys, keys)}
        return self.vf_rnn(emb, vf_state, batch.get(Columns.SEQ_LENS))

    def _state_in(self, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        state = batch.get(Columns.STATE_IN)
        if not isinstance(state, dict):
            raise KeyError(
                f"This DefaultActorCritic is recurrent ({self.config.recurrent_cell}): expected "
                f"batch[Columns.STATE_IN], a dict of (B, {self.config.lstm_cell_size}) tensors with keys "
                f"{sorted(self.get_initial_state())}, got {type(state).__name__}. Start from "
                "module.get_initial_state() with a batch dim, or call module.act(obs, state=None)."
            )
        cell = self.config.lstm_cell_size
        if any(isinstance(v, np.ndarray) for v in state.values()):  # numpy state: convert
            state = {k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and (value.dim() != 2 or value.shape[-1] != cell):
                hint = (
                    "get_initial_state() has no batch dim: add one, e.g. "
                    "{k: v.unsqueeze(0) for k, v in module.get_initial_state().items()}, "
                    "or call module.act(obs, state=...) which adds it for you."
                    if value.dim() == 1 else
                    "Pass the state this module returned (Columns.STATE_OUT or act()'s next state), "
                    "or start from module.get_initial_state()."
                )
                raise ValueError(
                    f"expected batch[Columns.STATE_IN][{key!r}] of shape (B, {cell}), "
                    f"got {tuple(value.shape)}. {hint}"
                )
        return state

    def _masked(self, logits: torch.Tensor, mask: Any) -> torch.Tensor:
        """Set the logits of disallowed actions to the dtype's minimum: probability 0 after softmax.

        A row that allows no action at all keeps all logits at the minimum (uniform), rather
        than NaN; environments should never send one.
        """
        if not isinstance(mask, torch.Tensor):
            mask = torch.as_tensor(np.asarray(mask), device=logits.device)
        if mask.shape != logits.shape:
            width = _mask_width(self.action_space)
            if width is None:
                raise ValueError(
                    f"batch[Columns.ACTION_MASK] works with Discrete and 1-D MultiDiscrete action spaces; "
                    f"got {self.action_space}. Remove the mask from the batch."
                )
            raise ValueError(
                f"expected an action mask of shape {tuple(logits.shape)} (1 = allowed) for "
                f"{self.action_space}, got {tuple(mask.shape)}."
            )
        allowed = mask if mask.dtype == torch.bool else mask != 0  # (B, n) bool
        return logits.masked_fill(~allowed, torch.finfo(logits.dtype).min)  # (B, n)

    # ------------------------------------------------------------------ distributions

    # ------------------------------------------------------------------ state, parts

    def get_initial_state(self) -> dict[str, torch.Tensor]:
        """Zeros ``{"h": (H,), "c": (H,)}`` for an LSTM (``{"h"}`` for a GRU; ``vf_`` keys for a
        separate critic); ``{}`` when not recurrent."""
        if self.rnn is None:
            return {}
        state = self.rnn.get_initial_state()
        if self._has_vf and not self._shared:
            state.update({f"vf_{k}": v for k, v in self.vf_rnn.get_initial_state().items()})
        return state

    def get_non_inference_attributes(self) -> list[str]:
        """The critic-only parts: ``["vf_head"]``, plus ``"vf_encoder"`` (and ``"vf_rnn"``) when
        the critic has its own encoder."""
        if self.config.vf_share_layers:
            return ["vf_head"]
        return ["vf_encoder", "vf_rnn", "vf_head"] if self.config.recurrent_cell else ["vf_encoder", "vf_head"]

    def extra_repr(self) -> str:
        parts = [f"observation_space={self.observation_space}", f"action_space={self.action_space}"]
        if self.inference_only:
            parts.append("inference_only=True")
        else:
            parts.append("value function: " + ("shared encoder" if self._shared else "own encoder"))
        if self._mask_key:
            parts.append(f"action mask from obs[{self._mask_key!r}]")
        return ", ".join(parts)


def _mask_width(action_space: gym.Space) -> int | None:
    """Width of an action mask for ``action_space`` (n, or sum(nvec)); None if masks do not apply."""
    if isinstance(action_space, gym.spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, gym.spaces.MultiDiscrete) and np.ndim(action_space.nvec) == 1:
        return int(np.sum(action_space.nvec))
    return None
