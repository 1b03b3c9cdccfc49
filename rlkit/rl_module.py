"""`RLModule`: a torch module that knows its spaces and answers three forward passes."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Mapping

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from rlkit.columns import Columns
from rlkit.distributions import get_action_dist_cls
from rlkit.spaces import add_batch_dim, is_batched_obs, make_obs_converter
from rlkit.state_loading import StateMismatchError, load_state_strict

if TYPE_CHECKING:
    from rlkit.distributions import Distribution
    from rlkit.multi_rl_module import MultiRLModule
    from rlkit.rl_module_spec import RLModuleSpec

__all__ = ["RLModule", "TorchRLModule", "DEFAULT_MODULE_ID", "StateMismatchError"]

#: The module id a single-agent module gets inside a :class:`MultiRLModule`.
DEFAULT_MODULE_ID = "default_policy"


def _guard_setup(setup):
    """Wrap a subclass's ``setup`` so that rlkit can enforce "called exactly once"."""

    @functools.wraps(setup)
    def guarded(self, *args, **kwargs):
        state = self.__dict__.get("_rlkit_setup_state")
        if state is None:
            raise RuntimeError(
                f"{type(self).__name__}.setup() ran before RLModule.__init__: "
                f"call super().__init__(observation_space=..., action_space=..., ...) first "
                f"in {type(self).__name__}.__init__; RLModule.__init__ calls setup() for you."
            )
        if state == "done":
            raise RuntimeError(
                f"{type(self).__name__}.setup() was called a second time. RLModule.__init__ "
                f"calls setup() exactly once; remove the extra self.setup() call (e.g. from "
                f"{type(self).__name__}.__init__) and put layer construction inside setup()."
            )
        return setup(self, *args, **kwargs)

    guarded._rlkit_guarded = True
    return guarded


class RLModule(nn.Module):
    """Base class of every rlkit module: a ``nn.Module`` that knows its gymnasium spaces.

    Subclasses build their layers in :meth:`setup` (called exactly once, from ``__init__``)
    and compute outputs in :meth:`_forward`, or in the phase-specific
    :meth:`_forward_inference`, :meth:`_forward_exploration` and :meth:`_forward_train`.
    The public ``forward_*`` methods are thin and are not meant to be overridden: they
    convert and check the batch, pick the mode (eval for inference/exploration, train for
    training) and the grad context. Outputs are dicts of tensors keyed by :class:`Columns`.

    Example:
        >>> import gymnasium as gym, torch
        >>> from torch import nn
        >>> from rlkit import Columns, RLModule
        >>> class Tiny(RLModule):
        ...     def setup(self):
        ...         self.pi = nn.Linear(self.observation_space.shape[0], self.action_space.n)
        ...     def _forward(self, batch, **kwargs):
        ...         return {Columns.ACTION_DIST_INPUTS: self.pi(batch[Columns.OBS])}
        >>> m = Tiny(observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2))
        >>> m.forward_inference({Columns.OBS: torch.zeros(3, 4)})[Columns.ACTION_DIST_INPUTS].shape
        torch.Size([3, 2])
    """

    framework = "torch"
    #: Extra keyword arguments act() passes to the forward pass (e.g. to skip the critic).
    _act_forward_kwargs: dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        setup = cls.__dict__.get("setup")
        if setup is not None and not getattr(setup, "_rlkit_guarded", False):
            cls.setup = _guard_setup(setup)

    def __init__(
        self,
        observation_space: gym.Space | None = None,
        action_space: gym.Space | None = None,
        inference_only: bool = False,
        model_config: Mapping[str, Any] | Any | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword arguments {sorted(kwargs)}; "
                "RLModule takes observation_space, action_space, inference_only, model_config."
            )
        for name, space in (("observation_space", observation_space), ("action_space", action_space)):
            if space is not None and not isinstance(space, gym.Space):
                raise TypeError(
                    f"{type(self).__name__}: {name} must be a gymnasium space, "
                    f"got {type(space).__name__} ({space!r})."
                )
        self.observation_space = observation_space
        self.action_space = action_space
        self.inference_only = bool(inference_only)
        self.model_config = model_config if model_config is not None else {}
        self._rlkit_setup_state = "running"
        self.setup()
        self._rlkit_setup_state = "done"
        # Cached so the per-forward batch check does not rebuild the initial state.
        self._rlkit_stateful = bool(self.get_initial_state())

    # ---------------------------------------------------------------- subclass hooks

    def setup(self) -> None:
        """Build layers here (called exactly once by ``__init__``)."""

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError(
            f"{type(self).__name__} must implement _forward(self, batch, **kwargs) returning a "
            f"dict keyed by Columns (or the phase-specific _forward_inference, "
            f"_forward_exploration and _forward_train)."
        )

    def _forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._forward(batch, **kwargs)

    def _forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._forward(batch, **kwargs)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._forward(batch, **kwargs)

    # ---------------------------------------------------------------- public forwards

    def forward_inference(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Greedy / deployment forward pass: no autograd, eval mode."""
        batch = self._prepare_batch(batch)
        if self.training:
            self.eval()
        if not torch.is_grad_enabled():  # already no-grad (e.g. a sampler's loop): skip the context
            return self._forward_inference(batch, **kwargs)
        with torch.no_grad():
            return self._forward_inference(batch, **kwargs)

    def forward_exploration(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Forward pass used to collect experience: no autograd, eval mode."""
        batch = self._prepare_batch(batch)
        if self.training:
            self.eval()
        if not torch.is_grad_enabled():  # already no-grad (e.g. a sampler's loop): skip the context
            return self._forward_exploration(batch, **kwargs)
        with torch.no_grad():
            return self._forward_exploration(batch, **kwargs)

    def forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Forward pass for the loss: keeps autograd, train mode."""
        if self.inference_only:
            raise RuntimeError(
                f"forward_train() was called on an inference-only {type(self).__name__} "
                "(built with inference_only=True), which has no training-only parts such as "
                "the value function. Build it with inference_only=False to train it."
            )
        batch = self._prepare_batch(batch)
        if not self.training:
            self.train()
        return self._forward_train(batch, **kwargs)

    def forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """``module(batch)`` runs :meth:`_forward` on the checked batch in the current mode."""
        return self._forward(self._prepare_batch(batch), **kwargs)

    def _prepare_batch(self, batch: Any) -> dict[str, Any]:
        """Check the batch has observations that fit the space; convert numpy to tensors."""
        if type(batch) is not dict:
            if not isinstance(batch, Mapping):
                raise TypeError(
                    f"{type(self).__name__} expects a batch dict like {{Columns.OBS: obs}}, "
                    f"got {type(batch).__name__}."
                )
            batch = dict(batch)
        try:
            obs = batch[Columns.OBS]
        except KeyError:
            raise KeyError(
                f"{type(self).__name__} expects the batch to contain Columns.OBS ('obs'); "
                f"found keys {sorted(map(str, batch))}."
            ) from None
        convert = self.__dict__.get("_rlkit_obs_converter") or self._build_obs_converter()
        converted = convert(obs)
        if converted is obs:
            return batch
        batch = dict(batch)
        batch[Columns.OBS] = converted
        return batch

    def _build_obs_converter(self):
        """Decide once how observations are converted and checked (see make_obs_converter)."""
        if self.__dict__.get("_rlkit_setup_state") != "done":
            raise RuntimeError(
                f"{type(self).__name__} was not initialised by RLModule.__init__: its __init__ "
                "must call super().__init__(observation_space=..., action_space=..., ...)."
            )
        if self.observation_space is None:
            def convert(obs: Any) -> Any:
                return obs if isinstance(obs, torch.Tensor) else torch.as_tensor(np.asarray(obs))
        else:
            convert = make_obs_converter(
                self.observation_space, max_batch_dims=2 if self.is_stateful() else 1
            )
        self.__dict__["_rlkit_obs_converter"] = convert
        return convert

    def __getstate__(self) -> dict[str, Any]:
        # The cached converter is a closure (not picklable): torch.save(module) / pickle /
        # deepcopy drop it, and the copy rebuilds it on its first forward pass.
        state = self.__dict__.copy()
        state.pop("_rlkit_obs_converter", None)
        return state

    # ---------------------------------------------------------------- acting

    def act(self, obs: Any, explore: bool = False, state: Any = None) -> Any:
        """From a raw gymnasium observation (single or batched) to an action ``env.step`` takes.

        Returns the action; for stateful (recurrent) modules ``(action, next_state)``.
        With ``explore=False`` the mode of the action distribution is taken, else a sample.
        """
        space = self.observation_space
        if type(obs) is np.ndarray and type(space) is gym.spaces.Box:
            # Fast path (the per-step case): a numpy observation of a Box space.
            single = obs.ndim <= len(space.shape)  # as is_batched_obs decides
            if single:
                obs = obs[None]  # (*shape) -> (1, *shape), a view
        else:
            single = space is not None and not is_batched_obs(obs, space)
            if single:
                obs = add_batch_dim(obs, space)
        batch: dict[str, Any] = {Columns.OBS: obs}
        stateful = self.is_stateful()
        if stateful:
            if state is None:
                state = self.get_initial_state()
                state = {k: v.unsqueeze(0) for k, v in state.items()} if single else {
                    k: v.unsqueeze(0).expand(_batch_size(obs), *v.shape).contiguous()
                    for k, v in state.items()
                }
            else:
                state = self._batch_state(state, obs, single)
            batch[Columns.STATE_IN] = state
        kwargs = self._act_forward_kwargs
        out = self.forward_exploration(batch, **kwargs) if explore else self.forward_inference(batch, **kwargs)
        dist = self.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
        action = dist.sample() if explore else dist.mode()
        action = _to_numpy_action(action, self.action_space, single)
        if stateful:
            next_state = out[Columns.STATE_OUT]
            return action, next_state
        return action

    def _batch_state(self, state: Any, obs: Any, single: bool) -> Any:
        """Give an unbatched state (e.g. ``module.get_initial_state()`` itself) a batch dim."""
        ndims = self.__dict__.get("_rlkit_state_ndims")
        if ndims is None:  # computed once: the initial state's dims, without a batch dim
            ndims = {k: v.dim() for k, v in self.get_initial_state().items()}
            self.__dict__["_rlkit_state_ndims"] = ndims
        if not isinstance(state, dict) or not any(
            isinstance(v, torch.Tensor) and v.dim() == ndims.get(k, -1) for k, v in state.items()
        ):
            return state  # already batched (the usual case: the previous act()'s next_state)
        n = 1 if single else _batch_size(obs)
        return {
            k: v.unsqueeze(0).expand(n, *v.shape).contiguous()
            if isinstance(v, torch.Tensor) and v.dim() == ndims.get(k, -1) else v
            for k, v in state.items()
        }

    # ---------------------------------------------------------------- distributions

    def get_train_action_dist_cls(self) -> type[Distribution]:
        """The distribution class the learner builds from ``ACTION_DIST_INPUTS``."""
        return self._action_dist_cls()

    def get_exploration_action_dist_cls(self) -> type[Distribution]:
        """The distribution class sampled from when collecting experience."""
        return self._action_dist_cls()

    def get_inference_action_dist_cls(self) -> type[Distribution]:
        """The distribution class used at inference (its mode is the greedy action)."""
        return self._action_dist_cls()

    def _action_dist_cls(self) -> type[Distribution]:
        """The class for the action space, looked up once per space: act() asks every step."""
        space = self._require_action_space()
        cached = self.__dict__.get("_rlkit_dist_cls")
        if cached is None or cached[0] is not space:
            cached = self.__dict__["_rlkit_dist_cls"] = (space, get_action_dist_cls(space))
        return cached[1]

    def _require_action_space(self) -> gym.Space:
        if self.action_space is None:
            raise ValueError(
                f"{type(self).__name__} has no action_space; pass action_space=... when building it."
            )
        return self.action_space

    # ---------------------------------------------------------------- state

    def get_initial_state(self) -> dict[str, torch.Tensor]:
        """Initial recurrent state without a batch dimension (``{}`` if not stateful)."""
        return {}

    def is_stateful(self) -> bool:
        """True when the module carries recurrent state between forward passes."""
        return self._rlkit_stateful

    def get_non_inference_attributes(self) -> list[str]:
        """Names of the attributes that only training needs (e.g. the value function)."""
        return []

    def get_state(self, inference_only: bool = False) -> dict[str, torch.Tensor]:
        """The module's weights as a plain ``{name: tensor}`` dict (detached copies)."""
        skip = tuple(f"{a}." for a in self.get_non_inference_attributes()) if inference_only else ()
        return {
            k: v.detach().clone()
            for k, v in self.state_dict().items()
            if not (skip and k.startswith(skip))
        }

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Load weights from :meth:`get_state` output (or ``{"module_state": ...}``)."""
        if isinstance(state, Mapping) and "module_state" in state and isinstance(state["module_state"], Mapping):
            state = state["module_state"]
        self.load_state_dict(state)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        """Strict, explained loading: critic-only keys are dropped by name for inference-only
        modules; every other missing, unexpected or wrongly-shaped key is listed in one error.
        """
        if not strict:
            return super().load_state_dict(state_dict, strict=False, assign=assign)
        drop = self.get_non_inference_attributes() if self.inference_only else []
        return load_state_strict(self, state_dict, drop_prefixes=drop, assign=assign)

    # ---------------------------------------------------------------- conversions

    def as_multi_rl_module(self) -> MultiRLModule:
        """This module wrapped in a :class:`MultiRLModule` under :data:`DEFAULT_MODULE_ID`."""
        from rlkit.multi_rl_module import MultiRLModule

        return MultiRLModule({DEFAULT_MODULE_ID: self})

    def get_spec(self) -> RLModuleSpec:
        """The :class:`RLModuleSpec` that rebuilds this module (same class, spaces, config)."""
        from rlkit.rl_module_spec import RLModuleSpec

        return RLModuleSpec.from_module(self)

    # ---------------------------------------------------------------- checkpoints

    def save_to_path(self, path: str | Any, **metadata: Any) -> Any:
        """Save weights and spec to the folder ``path`` (safe, atomic; see rlkit.checkpoints)."""
        from rlkit.checkpoints import save_module

        return save_module(self, path, **metadata)

    def restore_from_path(self, path: str | Any) -> None:
        """Load the weights saved at ``path`` into this module (strict, explained errors)."""
        from rlkit.checkpoints import restore_module

        restore_module(self, path)

    @classmethod
    def from_checkpoint(cls, path: str | Any, **kwargs: Any) -> RLModule:
        """Rebuild the saved module class from its spec and load its weights."""
        from rlkit.checkpoints import load_module

        module = load_module(path, **kwargs)
        if not isinstance(module, cls):
            raise TypeError(
                f"The checkpoint at {path} holds a {type(module).__name__}, "
                f"not a {cls.__name__}; load it with {type(module).__name__}.from_checkpoint()."
            )
        return module

    # ---------------------------------------------------------------- display

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        from rlkit.reprs import module_mimebundle

        return module_mimebundle(self)


#: RLlib's name for the torch flavour of :class:`RLModule`; rlkit is torch-only.
TorchRLModule = RLModule


def _batch_size(obs: Any) -> int:
    while isinstance(obs, (dict, tuple, list)):
        obs = next(iter(obs.values())) if isinstance(obs, dict) else obs[0]
    return int(obs.shape[0])


def _to_numpy_action(action: Any, space: gym.Space, single: bool) -> Any:
    """Tensor action(s) -> numpy in the space's dtype; drop the batch dim for one observation."""
    if isinstance(action, dict):
        return {k: _to_numpy_action(a, space[k], single) for k, a in action.items()}
    if isinstance(action, tuple):
        return tuple(_to_numpy_action(a, s, single) for a, s in zip(action, space.spaces))
    array = action.numpy()
    if space is not None and array.dtype != space.dtype:
        array = array.astype(space.dtype)
    return array[0] if single else array
