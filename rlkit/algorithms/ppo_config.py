"""`PPOConfig`: the builder that describes a PPO run (RLlib's method and setting names).

Every builder method returns the config itself, so settings chain. Nothing is checked
until :meth:`PPOConfig.build`, which gathers every unknown or invalid setting and raises
once, naming each setting, the rule it breaks, the value it got and, where it can, the fix.

Example:
    >>> from rlkit.algorithms import PPOConfig
    >>> config = (
    ...     PPOConfig()
    ...     .environment("CartPole-v1")
    ...     .env_runners(num_envs_per_env_runner=4)
    ...     .training(lr=1e-3, train_batch_size=512, minibatch_size=128)
    ...     .debugging(seed=0)
    ... )
    >>> config.lr, config.train_batch_size, config.rollout_fragment_length
    (0.001, 512, 'auto')
    >>> config.training(clip_param=-0.2).validate()
    Traceback (most recent call last):
    ...
    rlkit.algorithms.ppo_config.AlgorithmConfigError: The 'clip_param' setting of PPOConfig must be a positive float. Got -0.2 instead.
"""

from __future__ import annotations

import copy
import difflib
import importlib
import inspect
import math
import os
import sys
from typing import TYPE_CHECKING, Any, Callable, Mapping

from rlkit.rl_module_spec import RLModuleSpec, config_to_json

if TYPE_CHECKING:
    from rlkit.algorithms.ppo import PPO

__all__ = ["PPOConfig", "AlgorithmConfigError"]


class AlgorithmConfigError(ValueError, TypeError):
    """An algorithm setting is unknown, has the wrong type or an invalid value.

    Every problem found is listed in one message. Both a ``ValueError`` and a
    ``TypeError``, like :class:`rlkit.models.ModelConfigError`.
    """


# Every setting: name -> (builder method, default). The defaults were tuned for time to solve
# CartPole-v1 (bench/time_to_solve.py): 4 envs x 64 steps per iteration, 10 epochs of
# whole-batch Adam steps at lr 1e-3. A schedule is a list of [env_step, value] pairs.
_SETTINGS: dict[str, tuple[str, Any]] = {
    "env": ("environment", None),
    "env_config": ("environment", None),
    "num_envs_per_env_runner": ("env_runners", 4),
    "rollout_fragment_length": ("env_runners", "auto"),
    "num_env_runners": ("env_runners", 0),
    "lr": ("training", 1e-3),
    "gamma": ("training", 0.99),
    "lambda_": ("training", 0.95),
    "clip_param": ("training", 0.2),
    "vf_clip_param": ("training", None),
    "vf_loss_coeff": ("training", 0.5),
    "entropy_coeff": ("training", 0.0),
    "num_epochs": ("training", 10),
    "minibatch_size": ("training", 256),
    "train_batch_size": ("training", 256),
    "grad_clip": ("training", 0.5),
    "normalize_advantages": ("training", True),
    "use_kl_loss": ("training", False),
    "kl_coeff": ("training", 0.2),
    "kl_target": ("training", 0.01),
    "rl_module_spec": ("rl_module", None),
    "model_config": ("rl_module", None),
    "policies": ("multi_agent", None),
    "policy_mapping_fn": ("multi_agent", None),
    "policies_to_train": ("multi_agent", None),
    "seed": ("debugging", None),
    "metrics_num_episodes_for_smoothing": ("reporting", 100),
    "torch_num_threads": ("framework", None),
}

# Names users bring from Stable-Baselines3 or older RLlib versions -> rlkit's setting.
_ALIASES = {
    "learning_rate": "lr", "gae_lambda": "lambda_", "lambda": "lambda_", "lam": "lambda_",
    "clip_range": "clip_param", "clip_range_vf": "vf_clip_param", "ent_coef": "entropy_coeff",
    "vf_coef": "vf_loss_coeff", "max_grad_norm": "grad_clip", "n_epochs": "num_epochs",
    "num_sgd_iter": "num_epochs", "sgd_minibatch_size": "minibatch_size", "batch_size": "minibatch_size",
    "n_steps": "rollout_fragment_length", "num_envs": "num_envs_per_env_runner",
    "n_envs": "num_envs_per_env_runner", "num_envs_per_worker": "num_envs_per_env_runner",
    "num_workers": "num_env_runners", "num_rollout_workers": "num_env_runners",
    "normalize_advantage": "normalize_advantages", "vf_share_layers": "model_config",
}


class PPOConfig:
    """Settings of a :class:`~rlkit.algorithms.PPO` run, set through chained builder methods.

    The names are RLlib's (``lambda_`` with its underscore, ``train_batch_size`` in env steps,
    ``minibatch_size`` in samples, ``num_epochs`` passes over each train batch), so configs
    port from RLlib by their import lines. Settings are plain attributes too
    (``config.lr``); :meth:`to_dict` / :meth:`from_dict` turn the config into JSON data
    and back (that is how an algorithm checkpoint stores it).

    ``lr`` and ``entropy_coeff`` take a number or a piecewise-linear schedule
    ``[[0, 1e-3], [50_000, 1e-4]]`` (env steps sampled -> value, held after the last point).
    """

    def __init__(self) -> None:
        for name, (_, default) in _SETTINGS.items():
            setattr(self, name, copy.deepcopy(default))
        self.env_config = {}
        self._unknown: dict[str, tuple[str, Any]] = {}  # name -> (method, value), reported by build()

    # ---------------------------------------------------------------- builder methods

    def environment(self, env: Any = None, env_config: Mapping[str, Any] | None = None, **kwargs: Any) -> PPOConfig:
        """The env: a gymnasium id (``"CartPole-v1"``), an env class, or a factory.

        ``env_config`` goes to ``gymnasium.make(id, **env_config)``; a class or factory gets it
        as one dict, ``factory(env_config)``, when it takes one required positional argument, or
        one optional one whose name is not a key of ``env_config`` (RLlib's ``MyEnv(config)`` /
        ``env_creator(config)``), else as keywords, ``factory(**env_config)``. A factory (or a
        class) that returns a PettingZoo ``ParallelEnv`` makes the run multi-agent.
        """
        if env is not None:
            self.env = env
        if env_config is not None:
            self.env_config = env_config
        return self._collect("environment", kwargs)

    def env_runners(
        self,
        *,
        num_envs_per_env_runner: int | None = None,
        rollout_fragment_length: int | str | None = None,
        num_env_runners: int | None = None,
        **kwargs: Any,
    ) -> PPOConfig:
        """How experience is sampled: ``num_envs_per_env_runner`` copies of the env stepped
        together (a gymnasium vector env) in this process. ``rollout_fragment_length`` steps
        per copy and iteration; ``"auto"`` = ``train_batch_size / num_envs_per_env_runner``.
        """
        return self._set("env_runners", locals(), kwargs)

    def training(
        self,
        *,
        lr: float | list | None = None,
        gamma: float | None = None,
        lambda_: float | None = None,
        clip_param: float | None = None,
        vf_clip_param: float | None = ...,  # type: ignore[assignment]  # None is a value here
        vf_loss_coeff: float | None = None,
        entropy_coeff: float | list | None = None,
        num_epochs: int | None = None,
        minibatch_size: int | None = ...,  # type: ignore[assignment]  # None = whole batch
        train_batch_size: int | None = None,
        grad_clip: float | None = ...,  # type: ignore[assignment]  # None = no clipping
        normalize_advantages: bool | None = None,
        use_kl_loss: bool | None = None,
        kl_coeff: float | None = None,
        kl_target: float | None = None,
        **kwargs: Any,
    ) -> PPOConfig:
        """The PPO update.

        Args:
            lr: Adam learning rate, or a schedule ``[[env_step, lr], ...]``.
            gamma: discount factor in [0, 1].
            lambda_: GAE's lambda in [0, 1] (1 = Monte-Carlo returns, 0 = one-step TD).
            clip_param: epsilon of the clipped surrogate; the ratio pi/pi_old is kept in
                [1 - eps, 1 + eps].
            vf_clip_param: RLlib's value clip: the squared value error is clipped at this
                value (``None``: not clipped). Sensitive to the scale of the returns.
            vf_loss_coeff: weight of the value loss in the total loss.
            entropy_coeff: weight of the entropy bonus (or a schedule).
            num_epochs: passes over each train batch.
            minibatch_size: samples per gradient step (``None``: the whole batch).
            train_batch_size: env steps sampled per iteration.
            grad_clip: maximum global gradient norm per module (``None``: not clipped).
            normalize_advantages: standardise advantages per minibatch.
            use_kl_loss / kl_coeff / kl_target: RLlib's adaptive KL penalty
                ``kl_coeff * KL(pi_old || pi)``; the coefficient doubles when the KL
                exceeds 2 * kl_target and halves below kl_target / 2.
        """
        return self._set("training", locals(), kwargs)

    def rl_module(
        self, *, rl_module_spec: Any = None, model_config: Mapping[str, Any] | Any = None, **kwargs: Any
    ) -> PPOConfig:
        """The module(s) to train: an :class:`~rlkit.RLModuleSpec` (``module_class=None``:
        rlkit's default actor-critic) or a :class:`~rlkit.MultiRLModuleSpec` with one spec
        per policy. Spaces left out are filled from the env; ``model_config`` (a dict or a
        ``DefaultModelConfig``) is used by specs that have none.

        For the default actor-critic, a dict ``model_config`` is laid over PPO's defaults
        ``{"fcnet_hiddens": [64, 64], "vf_share_layers": False}`` (two 64-unit tanh layers,
        separate actor and critic encoders, as in SB3's PPO); a ``DefaultModelConfig`` object
        is used as it is.
        """
        return self._set("rl_module", locals(), kwargs)

    def multi_agent(
        self,
        *,
        policies: Any = None,
        policy_mapping_fn: Callable[..., str] | None = None,
        policies_to_train: Any = None,
        **kwargs: Any,
    ) -> PPOConfig:
        """Multi-agent training on a PettingZoo ``ParallelEnv``: ``policies`` are the module
        ids (a list, or a dict ``{id: RLModuleSpec | None}``), ``policy_mapping_fn(agent_id,
        ...)`` maps each agent to one (RLlib calls it with ``(agent_id, episode)``; rlkit
        passes only the agent id when the function takes one argument).
        ``policies_to_train`` (default: all) names the modules the learner updates.
        """
        return self._set("multi_agent", locals(), kwargs)

    def debugging(self, *, seed: int | None = None, **kwargs: Any) -> PPOConfig:
        """``seed`` seeds torch, numpy and the envs, so a run is reproducible."""
        return self._set("debugging", locals(), kwargs)

    def reporting(self, *, metrics_num_episodes_for_smoothing: int | None = None, **kwargs: Any) -> PPOConfig:
        """``metrics_num_episodes_for_smoothing``: the episode statistics of ``train()`` are means
        over this many most recent episodes (default 100, as in RLlib)."""
        return self._set("reporting", locals(), kwargs)

    def framework(self, framework: str | None = "torch", *, torch_num_threads: int | None = None, **kwargs: Any) -> PPOConfig:
        """rlkit is torch-only. ``torch_num_threads`` sets ``torch.set_num_threads`` while
        training and evaluating (the caller's setting is restored after). ``None`` means 1
        thread: measured on a 2-core machine, a second thread left CartPole's iteration time
        unchanged with 2x64 networks (and cost twice the CPU), and cut it by 15% with 2x256
        networks for 1.65x the CPU. Raise it for large networks on a machine of your own.
        """
        if framework not in (None, "torch"):
            kwargs["framework"] = framework
        return self._set("framework", {"torch_num_threads": torch_num_threads}, kwargs)

    # ---------------------------------------------------------------- plumbing

    def _set(self, method: str, given: dict[str, Any], extra: dict[str, Any]) -> PPOConfig:
        for name, value in given.items():
            if name in ("self", "kwargs", "__class__"):
                continue
            explicit_none = name in ("vf_clip_param", "minibatch_size", "grad_clip")
            if value is ... or (value is None and not explicit_none):
                continue
            setattr(self, name, value)
        return self._collect(method, extra)

    def _collect(self, method: str, extra: dict[str, Any]) -> PPOConfig:
        for name, value in extra.items():
            if name in _SETTINGS and _SETTINGS[name][0] != method:
                # a real setting given to the wrong method: accept it, it is unambiguous
                setattr(self, name, value)
            else:
                self._unknown[name] = (method, value)
        return self

    def copy(self) -> PPOConfig:
        """A deep copy (classes, functions and env objects are shared, not copied)."""
        new = PPOConfig.__new__(PPOConfig)
        for key, value in self.__dict__.items():
            new.__dict__[key] = value if callable(value) and not isinstance(value, Mapping) else copy.deepcopy(value)
        return new

    def get(self, name: str, default: Any = None) -> Any:
        return getattr(self, name, default)

    def __repr__(self) -> str:
        changed = {k: getattr(self, k) for k, (_, d) in _SETTINGS.items() if getattr(self, k) != d}
        changed.pop("env_config", None) if not self.env_config else None
        return f"PPOConfig({', '.join(f'{k}={_short(v)}' for k, v in changed.items())})"

    # ---------------------------------------------------------------- checking and building

    def validate(self) -> None:
        """Raise :class:`AlgorithmConfigError` listing every unknown or invalid setting."""
        from rlkit.algorithms.config_checks import check_settings

        problems = []
        for name, (method, _) in self._unknown.items():
            known = [k for k, (m, _) in _SETTINGS.items() if m == method] or list(_SETTINGS)
            close = [_ALIASES[name]] if name in _ALIASES else difflib.get_close_matches(name, list(_SETTINGS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            if name == "vf_share_layers":
                hint = " It is a model setting: .rl_module(model_config={'vf_share_layers': ...})."
            problems.append(
                f"PPOConfig.{method}() got an unknown setting {name!r}.{hint} "
                f"It takes: {', '.join(known)}."
            )
        problems += check_settings(self)
        if problems:
            raise AlgorithmConfigError("\n".join(problems))

    def build(self) -> PPO:
        """Check every setting, make the env and the modules, and return the :class:`PPO`."""
        self.validate()
        from rlkit.algorithms.ppo import PPO

        return PPO(self)

    build_algo = build  # RLlib's newer name

    def get_schedule_value(self, name: str, env_steps: int) -> float:
        """The value of ``lr`` / ``entropy_coeff`` after ``env_steps`` sampled env steps."""
        value = getattr(self, name)
        if not isinstance(value, (list, tuple)):
            return float(value)
        points = [(int(t), float(v)) for t, v in value]
        if env_steps <= points[0][0]:
            return points[0][1]
        for (t0, v0), (t1, v1) in zip(points, points[1:]):
            if env_steps < t1:
                return v0 + (v1 - v0) * (env_steps - t0) / (t1 - t0)  # linear between points
        return points[-1][1]

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        """The config as plain JSON data; classes and functions as import paths.

        Objects that cannot be named by an import path (a lambda, a class defined in a
        notebook) are stored by description: the process that saved them finds them again,
        another one must pass them again on loading
        (``PPO.from_checkpoint(path, env=..., policy_mapping_fn=..., module_class=...)``).
        """
        from rlkit.multi_rl_module import MultiRLModuleSpec

        data: dict[str, Any] = {}
        for name in _SETTINGS:
            value = getattr(self, name)
            if name == "env":
                value = value if isinstance(value, str) or value is None else _callable_to_json(value)
            elif name == "policy_mapping_fn":
                value = None if value is None else _callable_to_json(value)
            elif name == "rl_module_spec":
                if isinstance(value, (RLModuleSpec, MultiRLModuleSpec)):
                    value = {"type": type(value).__name__, **value.to_dict()}
            elif name == "policies":
                if isinstance(value, Mapping):
                    value = {k: (s.to_dict() if isinstance(s, RLModuleSpec) else None) for k, s in value.items()}
                elif value is not None:
                    value = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
            elif name == "policies_to_train" and value is not None and not callable(value):
                value = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
            else:
                value = config_to_json(value, where=name)
            data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **overrides: Any) -> PPOConfig:
        """Inverse of :meth:`to_dict`. ``overrides`` (``env=``, ``policy_mapping_fn=``,
        ``module_class=`` a class or ``{module_id: class}``) supply what could not be stored."""
        from rlkit.multi_rl_module import MultiRLModuleSpec

        config = cls()
        module_class = overrides.pop("module_class", None)
        for name, value in data.items():
            if name not in _SETTINGS:
                config._unknown[name] = ("from_dict", value)
                continue
            if name in ("env", "policy_mapping_fn") and isinstance(value, Mapping):
                value = None if name in overrides else _callable_from_json(value, name)
            elif name == "rl_module_spec" and isinstance(value, Mapping):
                kind = value.get("type", "RLModuleSpec")
                if kind == "MultiRLModuleSpec":
                    classes = module_class if isinstance(module_class, Mapping) else {}
                    value = MultiRLModuleSpec(rl_module_specs={
                        mid: RLModuleSpec.from_dict(d, module_class=classes.get(mid))
                        for mid, d in value["rl_module_specs"].items()
                    })
                else:
                    single = module_class if not isinstance(module_class, Mapping) else None
                    value = RLModuleSpec.from_dict(value, module_class=single)
            elif name == "policies" and isinstance(value, Mapping):
                classes = module_class if isinstance(module_class, Mapping) else {}
                value = {k: (RLModuleSpec.from_dict(d, module_class=classes.get(k)) if d else None) for k, d in value.items()}
            setattr(config, name, value)
        for name, value in overrides.items():
            if name not in _SETTINGS:
                raise TypeError(
                    f"PPOConfig.from_dict() got an unknown override {name!r}; expected settings such as "
                    "'env', 'policy_mapping_fn' or 'module_class'."
                )
            setattr(config, name, value)
        return config


def _short(value: Any) -> str:
    text = repr(value) if not callable(value) or isinstance(value, Mapping) else getattr(value, "__qualname__", repr(value))
    return text if len(text) <= 60 else text[:57] + "..."


def _callable_to_json(fn: Any) -> dict[str, Any]:
    """``{"import_path": "pkg.mod:Name"}`` when ``fn`` can be imported by name later, else a
    description (``{"unimportable": "..."}``) that :func:`_callable_from_json` explains."""
    module, qualname = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if module and qualname and module != "__main__" and "<" not in qualname:
        return {"import_path": f"{module}:{qualname}"}
    # Not storable by name; this process (the notebook kernel that saved it) can still find it.
    key = f"{os.getpid()}:{id(fn)}"
    _SESSION_CALLABLES[key] = fn  # a strong reference: the id cannot be reused while it is listed
    return {"unimportable": f"{module}:{qualname}" if qualname else repr(fn), "session_key": key}


#: Callables saved by description in this process, by ``session_key``: loading a config in the
#: same kernel gets the very object back (a lambda mapping, an env factory defined in a notebook).
_SESSION_CALLABLES: dict[str, Any] = {}


def _callable_from_json(data: Mapping[str, Any], name: str) -> Any:
    if "import_path" in data:
        module_name, _, qualname = data["import_path"].partition(":")
        try:
            obj: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                obj = getattr(obj, part)
            return obj
        except (ImportError, AttributeError) as err:
            raise AlgorithmConfigError(
                f"The stored {name!r} setting, {data['import_path']!r}, cannot be imported ({err}). "
                f"Pass it again: PPO.from_checkpoint(path, {name}=...)."
            ) from None
    if data.get("session_key") in _SESSION_CALLABLES:
        return _SESSION_CALLABLES[data["session_key"]]
    module_name, _, qualname = str(data.get("unimportable", "")).partition(":")
    if module_name == "__main__" and qualname and "<" not in qualname:
        # The same notebook kernel or script that defined it can still resolve it (as module classes are).
        obj = sys.modules.get("__main__")
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if callable(obj):
            return obj
    raise AlgorithmConfigError(
        f"The {name!r} setting was {data.get('unimportable')!r}, defined in a notebook, script or "
        f"function body (or a lambda), so it could not be stored by import path. "
        f"Pass it again: PPO.from_checkpoint(path, {name}=...)."
    )


def call_env_factory(factory: Callable[..., Any], env_config: Mapping[str, Any]) -> Any:
    """Call an env class or factory with ``env_config`` by the rule :meth:`PPOConfig.environment` states."""
    try:
        all_params = list(inspect.signature(factory).parameters.values())
    except (TypeError, ValueError):
        all_params = []
    positional = [p for p in all_params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    if len(required) == 1 and required[0].name not in env_config:
        return factory(dict(env_config))  # RLlib style: env_creator(env_config) / MyEnv(config)
    takes_keywords = any(p.kind is p.VAR_KEYWORD for p in all_params) or all(
        any(p.name == key and p.kind is not p.POSITIONAL_ONLY for p in all_params) for key in env_config
    )
    if not takes_keywords and len(positional) == 1:
        return factory(dict(env_config))  # RLlib style with a default: MyEnv(config=None)
    return factory(**env_config)


def is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
