"""`MultiRLModule`: one RLModule per policy id, used like a mapping; and its spec."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Callable, Iterator

from torch import nn

from rlkit.rl_module import RLModule
from rlkit.rl_module_spec import RLModuleSpec

__all__ = ["MultiRLModule", "MultiRLModuleSpec"]


class MultiRLModule(nn.Module):
    """A container of :class:`RLModule` s keyed by module id (one per policy).

    Behaves like a read-only mapping (``m[id]``, ``id in m``, ``keys/values/items``,
    ``len``); forwards take ``{module_id: batch}`` and return ``{module_id: output}``.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> spec = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (3,)), action_space=gym.spaces.Discrete(2))
        >>> multi = MultiRLModule({"a": spec.build(), "b": spec.build()})
        >>> sorted(multi)
        ['a', 'b']
    """

    def __init__(
        self,
        rl_modules: Mapping[str, RLModule] | None = None,
        *,
        rl_module_specs: Mapping[str, RLModuleSpec] | None = None,
    ) -> None:
        super().__init__()
        self._rl_modules = nn.ModuleDict()
        for module_id, spec in (rl_module_specs or {}).items():
            self.add_module_by_id(module_id, spec.build())
        for module_id, module in (rl_modules or {}).items():
            self.add_module_by_id(module_id, module)

    # ---------------------------------------------------------------- mapping protocol

    def __getitem__(self, module_id: str) -> RLModule:
        try:
            return self._rl_modules[module_id]
        except KeyError:
            raise KeyError(self._unknown(module_id)) from None

    def __contains__(self, module_id: object) -> bool:
        return module_id in self._rl_modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._rl_modules)

    def __len__(self) -> int:
        return len(self._rl_modules)

    def keys(self):
        return self._rl_modules.keys()

    def values(self):
        return self._rl_modules.values()

    def items(self):
        return self._rl_modules.items()

    def get(self, module_id: str, default: Any = None) -> RLModule | Any:
        return self._rl_modules[module_id] if module_id in self._rl_modules else default

    def _unknown(self, module_id: object) -> str:
        return f"Module id {module_id!r} not found. Available module ids: {sorted(self._rl_modules)}."

    # ---------------------------------------------------------------- add / remove

    def add_module_by_id(self, module_id: str, module: RLModule, *, override: bool = False) -> None:
        self.add_module(module_id, module, override=override)

    def add_module(self, module_id: str, module: RLModule | None = None, *, override: bool = False) -> None:  # type: ignore[override]
        """Add ``module`` under ``module_id``; a clash raises unless ``override=True``."""
        if not isinstance(module_id, str) or not module_id or "." in module_id:
            raise ValueError(f"Module ids must be non-empty strings without '.', got {module_id!r}.")
        if not isinstance(module, RLModule):
            raise TypeError(f"MultiRLModule.add_module expects an RLModule for {module_id!r}, got {type(module).__name__}.")
        if module_id in self._rl_modules and not override:
            raise ValueError(
                f"Module id {module_id!r} already exists in this MultiRLModule. "
                f"Pass override=True to replace it."
            )
        self._rl_modules[module_id] = module

    def remove_module(self, module_id: str, *, raise_err_if_not_found: bool = True) -> None:
        """Remove the module ``module_id`` (``KeyError`` listing the ids if absent)."""
        if module_id not in self._rl_modules:
            if raise_err_if_not_found:
                raise KeyError(self._unknown(module_id))
            return
        del self._rl_modules[module_id]

    # ---------------------------------------------------------------- forwards

    def _dispatch(self, method: str, batch: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        if not isinstance(batch, Mapping):
            raise TypeError(f"MultiRLModule.{method} expects {{module_id: batch}}, got {type(batch).__name__}.")
        unknown = [mid for mid in batch if mid not in self._rl_modules]
        if unknown:
            raise KeyError(
                f"Module id(s) {unknown} in the batch not found. "
                f"Available module ids: {sorted(self._rl_modules)}."
            )
        return {mid: getattr(self._rl_modules[mid], method)(b, **kwargs) for mid, b in batch.items()}

    def forward_inference(self, batch: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._dispatch("forward_inference", batch, **kwargs)

    def forward_exploration(self, batch: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._dispatch("forward_exploration", batch, **kwargs)

    def forward_train(self, batch: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._dispatch("forward_train", batch, **kwargs)

    def forward(self, batch: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        return self._dispatch("forward", batch, **kwargs)

    # ---------------------------------------------------------------- state

    def get_state(self, module_ids: list[str] | None = None, inference_only: bool = False) -> dict[str, dict]:
        """``{module_id: module.get_state()}``."""
        ids = module_ids if module_ids is not None else list(self._rl_modules)
        return {mid: self[mid].get_state(inference_only=inference_only) for mid in ids}

    def set_state(self, state: Mapping[str, Mapping[str, Any]]) -> None:
        """Load ``{module_id: state}``; unknown ids raise a ``KeyError`` listing the ids."""
        unknown = [mid for mid in state if mid not in self._rl_modules]
        if unknown:
            raise KeyError(f"Module id(s) {unknown} in the state not found. Available module ids: {sorted(self._rl_modules)}.")
        for mid, module_state in state.items():
            self._rl_modules[mid].set_state(module_state)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False):
        """Load a flat ``state_dict()`` or the nested ``{module_id: state}`` that
        ``rlkit.load_checkpoint(path)["module_state"]`` holds for a MultiRLModule checkpoint;
        nested states load per module (each strict and explained, inference-only aware).
        """
        if state_dict and all(isinstance(v, Mapping) for v in state_dict.values()):
            unknown = [mid for mid in state_dict if mid not in self._rl_modules]
            if unknown:
                raise KeyError(f"Module id(s) {unknown} in the state not found. Available module ids: {sorted(self._rl_modules)}.")
            for mid, module_state in state_dict.items():
                self._rl_modules[mid].load_state_dict(module_state, strict=strict, assign=assign)
            return None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def foreach_module(self, fn: Callable[[str, RLModule], Any]) -> dict[str, Any]:
        return {mid: fn(mid, m) for mid, m in self._rl_modules.items()}

    def as_multi_rl_module(self) -> MultiRLModule:
        return self

    def get_spec(self) -> MultiRLModuleSpec:
        return MultiRLModuleSpec(rl_module_specs={mid: m.get_spec() for mid, m in self.items()})

    @property
    def inference_only(self) -> bool:
        return bool(self._rl_modules) and all(m.inference_only for m in self.values())

    # ---------------------------------------------------------------- checkpoints

    def save_to_path(self, path: Any, **metadata: Any) -> Any:
        from rlkit.checkpoints import save_module

        return save_module(self, path, **metadata)

    def restore_from_path(self, path: Any) -> None:
        from rlkit.checkpoints import restore_module

        restore_module(self, path)

    @classmethod
    def from_checkpoint(cls, path: Any, **kwargs: Any) -> MultiRLModule:
        from rlkit.checkpoints import load_module

        module = load_module(path, **kwargs)
        if not isinstance(module, cls):
            raise TypeError(
                f"The checkpoint at {path} holds a {type(module).__name__}, not a MultiRLModule; "
                f"load it with RLModule.from_checkpoint()."
            )
        return module

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        from rlkit.reprs import module_mimebundle

        return module_mimebundle(self)


Mapping.register(MultiRLModule)


@dataclasses.dataclass
class MultiRLModuleSpec:
    """``{module_id: RLModuleSpec}`` as plain data; ``build()`` gives a :class:`MultiRLModule`."""

    rl_module_specs: dict[str, RLModuleSpec] = dataclasses.field(default_factory=dict)
    multi_rl_module_class: type[MultiRLModule] = MultiRLModule

    def __post_init__(self) -> None:
        if not isinstance(self.rl_module_specs, Mapping):
            raise TypeError(
                f"MultiRLModuleSpec(rl_module_specs=...) expects a dict {{module_id: RLModuleSpec}}, "
                f"got {type(self.rl_module_specs).__name__}."
            )
        for mid, spec in self.rl_module_specs.items():
            if not isinstance(spec, RLModuleSpec):
                raise TypeError(f"rl_module_specs[{mid!r}] must be an RLModuleSpec, got {type(spec).__name__}.")

    def build(self, module_id: str | None = None) -> MultiRLModule | RLModule:
        """Build every module (or just ``module_id``)."""
        if module_id is not None:
            if module_id not in self.rl_module_specs:
                raise KeyError(f"Module id {module_id!r} not found. Available module ids: {sorted(self.rl_module_specs)}.")
            return self.rl_module_specs[module_id].build()
        return self.multi_rl_module_class(rl_module_specs=self.rl_module_specs)

    def to_dict(self) -> dict[str, Any]:
        from rlkit.import_path import class_to_path

        return {
            "multi_rl_module_class": class_to_path(self.multi_rl_module_class),
            "rl_module_specs": {mid: spec.to_dict() for mid, spec in self.rl_module_specs.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MultiRLModuleSpec:
        from rlkit.import_path import class_from_path

        path = data.get("multi_rl_module_class")
        return cls(
            rl_module_specs={mid: RLModuleSpec.from_dict(d) for mid, d in data["rl_module_specs"].items()},
            multi_rl_module_class=class_from_path(path) if path else MultiRLModule,
        )

    @classmethod
    def from_module(cls, module: MultiRLModule) -> MultiRLModuleSpec:
        return module.get_spec()

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        from rlkit.reprs import spec_mimebundle

        return spec_mimebundle(self)
