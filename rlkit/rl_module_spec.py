"""`RLModuleSpec`: plain data that builds an RLModule and round-trips through JSON."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

import gymnasium as gym

from rlkit.import_path import class_from_path, class_to_path
from rlkit.spaces import space_from_dict, space_to_dict

if TYPE_CHECKING:
    from rlkit.rl_module import RLModule

__all__ = ["RLModuleSpec", "config_to_json"]


def config_to_json(value: Any, where: str = "model_config") -> Any:
    """A model config (dict or dataclass) as plain JSON data; tuples become lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): config_to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [config_to_json(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # numpy / torch scalars
        return value.item()
    raise ValueError(
        f"{where} = {value!r} ({type(value).__name__}) cannot be stored as JSON. "
        "Use plain numbers, strings, lists and dicts in model_config (e.g. an activation "
        "by name, 'relu', rather than the torch class)."
    )


@dataclasses.dataclass
class RLModuleSpec:
    """Everything needed to build an :class:`RLModule`, as plain data.

    ``module_class=None`` builds rlkit's default actor-critic for the spaces.

    Example:
        >>> import gymnasium as gym
        >>> spec = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)),
        ...                     action_space=gym.spaces.Discrete(2))
        >>> RLModuleSpec.from_dict(spec.to_dict()) == spec
        True
    """

    module_class: type[RLModule] | None = None
    observation_space: gym.Space | None = None
    action_space: gym.Space | None = None
    inference_only: bool = False
    model_config: Mapping[str, Any] | Any | None = None

    def build(self) -> RLModule:
        """Build the module. Raises ``ValueError`` naming a missing space."""
        from rlkit.rl_module import RLModule

        for name in ("observation_space", "action_space"):
            if getattr(self, name) is None:
                raise ValueError(
                    f"RLModuleSpec.build() needs an {name}, got None. Pass {name}=... to "
                    f"RLModuleSpec (an algorithm config fills it from the env for you)."
                )
        module_class = self.module_class
        if module_class is None:
            from rlkit.models import DefaultActorCritic

            module_class = DefaultActorCritic
        if not (isinstance(module_class, type) and issubclass(module_class, RLModule)):
            raise TypeError(
                f"RLModuleSpec.module_class must be an RLModule subclass, got {module_class!r}."
            )
        return module_class(
            observation_space=self.observation_space,
            action_space=self.action_space,
            inference_only=self.inference_only,
            model_config=self.model_config,
        )

    def update(self, other: RLModuleSpec | None = None, **fields: Any) -> RLModuleSpec:
        """A copy with the fields of ``other`` (or ``fields``) that are not None filled in."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        source = {f.name: getattr(other, f.name) for f in dataclasses.fields(other)} if other else fields
        values.update({k: v for k, v in source.items() if v is not None})
        return RLModuleSpec(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: spaces described, the class as an import path."""
        return {
            "module_class": class_to_path(self.module_class) if self.module_class else None,
            "observation_space": space_to_dict(self.observation_space) if self.observation_space else None,
            "action_space": space_to_dict(self.action_space) if self.action_space else None,
            "inference_only": bool(self.inference_only),
            "model_config": config_to_json(self.model_config) if self.model_config is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], module_class: type | None = None) -> RLModuleSpec:
        """Inverse of :meth:`to_dict`; ``module_class`` overrides the stored import path."""
        path = data.get("module_class")
        if module_class is None and path:
            module_class = class_from_path(path)
        obs, act = data.get("observation_space"), data.get("action_space")
        return cls(
            module_class=module_class,
            observation_space=space_from_dict(obs) if obs else None,
            action_space=space_from_dict(act) if act else None,
            inference_only=bool(data.get("inference_only", False)),
            model_config=data.get("model_config"),
        )

    @classmethod
    def from_module(cls, module: RLModule) -> RLModuleSpec:
        """The spec that rebuilds ``module`` (its class, spaces, flags and config)."""
        return cls(
            module_class=type(module),
            observation_space=module.observation_space,
            action_space=module.action_space,
            inference_only=module.inference_only,
            model_config=module.model_config or None,
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        from rlkit.reprs import spec_mimebundle

        return spec_mimebundle(self)
