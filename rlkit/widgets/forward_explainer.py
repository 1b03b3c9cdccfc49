"""`ForwardExplainer`: one forward pass laid open, with what-if sliders on the observation."""

from __future__ import annotations

import html
import time
from typing import Any

import gymnasium as gym
import ipywidgets as W
import numpy as np
import torch
import traitlets

from rlkit.spaces import ObservationError, add_batch_dim, obs_to_tensor, sample_obs_batch
from rlkit.widgets._explain import ForwardPass, _leaf_layers, explain_forward
from rlkit.widgets._explainer_html import EXPLAINER_CSS, gaussian_html, layer_rows_html, probs_html
from rlkit.widgets._obs_controls import LeafEditor, get_leaf, leaf_paths, set_leaf

__all__ = ["ForwardExplainer"]

_e = html.escape


def _copy_obs(obs: Any, space: gym.Space) -> Any:
    """A numpy copy of one observation in the space's structure and dtypes."""
    if isinstance(space, gym.spaces.Dict):
        return {k: _copy_obs(obs[k], s) for k, s in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_copy_obs(o, s) for o, s in zip(obs, space.spaces))
    if isinstance(obs, torch.Tensor):
        obs = obs.detach().cpu().numpy()
    return np.array(obs, dtype=space.dtype, copy=True)


def _unbatch(obs: Any) -> Any:
    if isinstance(obs, dict):
        return {k: _unbatch(v) for k, v in obs.items()}
    if isinstance(obs, tuple):
        return tuple(_unbatch(v) for v in obs)
    return obs[0]


class ForwardExplainer(W.VBox):
    """One forward pass of ``module`` for one observation, laid open and live.

    Left: "what-if" sliders, one per observation component (ranges from the space; sensible
    ones for unbounded dimensions; an element picker for large parts such as images). Right:
    logits -> probabilities -> action (or mean, std -> sample), the value, and every layer's
    output for this observation as bars or a heat map, with shapes. Moving a slider updates
    everything; set ``explainer.obs = ...`` to explain another observation.

    Args:
        module: an ``RLModule`` (or a ``MultiRLModule`` with ``module_id``).
        obs: one observation (no batch dim); default a seeded sample of the observation space.
        module_id: which module of a ``MultiRLModule`` to explain.
        state: recurrent state without batch dim (default: the module's initial state).
        max_cells: longest layer output drawn cell by cell; longer ones are averaged in chunks.

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> env = gym.make("CartPole-v1")
        >>> module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
        >>> ex = ForwardExplainer(module, env.reset(seed=0)[0])
        >>> ex.sliders[2].value = 0.2             # what if the pole leans right?
        >>> round(float(ex.result.summary["probs"].sum()), 5)
        1.0
    """

    #: The observation being explained (numpy, no batch dim). Setting it updates every pane.
    obs = traitlets.Any(allow_none=True)
    #: Act by sampling (True) or greedily (False): which action is reported as taken.
    explore = traitlets.Bool(False)
    #: Seed of the shown sample; "sample again" increments it.
    sample_seed = traitlets.Int(0)
    #: The last error message shown in the widget ("" when the last update worked).
    error = traitlets.Unicode("")

    def __init__(self, module: Any, obs: Any = None, *, module_id: str | None = None,
                 state: dict[str, torch.Tensor] | None = None, max_cells: int = 256, **kwargs: Any) -> None:
        from rlkit.multi_rl_module import MultiRLModule
        from rlkit.rl_module import RLModule

        if isinstance(module, MultiRLModule):
            if module_id is None:
                raise ValueError(f"ForwardExplainer explains one module; pass module_id=... (one of {sorted(module)}).")
            module = module[module_id]
        if not isinstance(module, RLModule) or module.observation_space is None:
            raise TypeError(f"ForwardExplainer expects an RLModule with an observation_space, got {type(module).__name__}.")
        self.module = module
        self.space = module.observation_space
        self.state = state
        self.max_cells = max_cells
        self.result: ForwardPass | None = None
        self.last_update_ms: float | None = None
        self._leaves = _leaf_layers(module)
        self._from_editor = False
        if obs is None:
            obs = _unbatch(sample_obs_batch(self.space, 1, seed=0))
        self._initial = obs = self._checked(obs)  # a wrong observation is a ValueError right here

        self.editors = [
            LeafEditor(path, leaf_space, get_leaf(obs, path), lambda value, path=path: self._on_editor(path, value))
            for path, leaf_space in leaf_paths(self.space)
        ]
        self._dist_pane = W.HTML(layout=W.Layout(min_width="420px"))
        self._layer_pane = W.HTML()
        self._message = W.HTML()
        reset = W.Button(description="reset", icon="undo", layout=W.Layout(width="90px"))
        again = W.Button(description="sample again", icon="random", layout=W.Layout(width="140px"))
        explore = W.Checkbox(value=self.explore, description="act by sampling", indent=False, layout=W.Layout(width="140px"))
        reset.on_click(lambda _: self._safe(self._reset))
        again.on_click(lambda _: self._safe(lambda: setattr(self, "sample_seed", self.sample_seed + 1)))
        title = W.HTML(
            f"{EXPLAINER_CSS}<div class='rx-pane'><span class='rx-h'>{_e(type(module).__name__)}: one forward pass</span> "
            f"<span class='rx-sub'>observation {_e(repr(self.space))} &#8594; action {_e(repr(module.action_space))}</span></div>"
        )
        left = W.VBox([W.HTML("<div class='rx-pane rx-h'>What if&#8230;</div>"), *[ed.widget for ed in self.editors],
                       W.HBox([reset, again]), explore], layout=W.Layout(width="390px", min_width="390px"))
        right = W.VBox([self._dist_pane, W.HTML("<div class='rx-pane rx-h'>Layer by layer</div>"), self._layer_pane],
                       layout=W.Layout(flex="1 1 480px", overflow="auto"))
        super().__init__(children=[title, self._message, W.HBox([left, right], layout=W.Layout(flex_flow="row wrap"))],
                         **kwargs)
        self.add_class("rlkit-forward-explainer")
        W.link((explore, "value"), (self, "explore"))
        self.sliders = [c for ed in self.editors for c in ed.controls]
        self._safe(lambda: setattr(self, "obs", obs))

    # ------------------------------------------------------------------ traits

    def _checked(self, obs: Any) -> Any:
        """A numpy copy of ``obs``; ValueError unless it is one observation of the module's space."""
        try:
            obs_to_tensor(add_batch_dim(obs, self.space), self.space)
        except (ObservationError, KeyError, IndexError, TypeError, ValueError) as err:
            raise ValueError(
                f"ForwardExplainer.obs must be one observation (no batch dim) of the module's observation space; {err}"
            ) from None
        return _copy_obs(obs, self.space)

    @traitlets.validate("obs")
    def _validate_obs(self, proposal: dict) -> Any:
        try:
            return self._checked(proposal["value"])
        except ValueError as err:
            raise traitlets.TraitError(str(err)) from None

    @traitlets.observe("obs", "explore", "sample_seed")
    def _on_change(self, change: dict) -> None:
        if change["name"] == "obs" and not self._from_editor:
            for ed in self.editors:
                ed.set(get_leaf(change["new"], ed.path))
        self.refresh()

    def _on_editor(self, path: tuple, value: np.ndarray) -> None:
        self._from_editor = True
        try:
            self._safe(lambda: setattr(self, "obs", set_leaf(self.space, self.obs, path, value)))
        finally:
            self._from_editor = False

    def _reset(self) -> None:
        self.obs = self._initial

    def _safe(self, fn) -> None:
        """Run a callback; show its error in the widget instead of raising into the front end."""
        try:
            fn()
        except Exception as err:
            self._show_error(err)

    def _show_error(self, err: Exception) -> None:
        msg = str(err) if isinstance(err, traitlets.TraitError) else f"{type(err).__name__}: {err}"
        self.error = msg
        self._message.value = f"{EXPLAINER_CSS}<div class='rx-pane rx-msg'>{_e(msg)}</div>"

    # ------------------------------------------------------------------ drawing

    def refresh(self) -> None:
        """Run the forward pass for ``obs`` and redraw every pane (errors shown, not raised)."""
        if self.obs is None:
            return
        t0 = time.perf_counter()
        try:
            fp = explain_forward(self.module, self.obs, state=self.state, sample_seed=self.sample_seed, leaves=self._leaves)
            dist_html = self._dist_html(fp)
            rows = [(r.name, r.kind, r.shape, r.values) for r in fp.layers]
            layers_html = layer_rows_html(rows, max_cells=self.max_cells)
        except Exception as err:  # the panes keep the last good pass; the message says why
            self._show_error(err)
            return
        self.result = fp
        self._dist_pane.value = f"<div class='rx-pane'>{dist_html}</div>"
        self._layer_pane.value = f"<div class='rx-pane'>{layers_html}</div>"
        if self.error:
            self.error = ""
            self._message.value = ""
        self.last_update_ms = 1e3 * (time.perf_counter() - t0)

    def _dist_html(self, fp: ForwardPass) -> str:
        space = self.module.action_space
        acted = fp.sampled if self.explore else fp.greedy
        facts = [f"action taken ({'sampled' if self.explore else 'greedy'}): <b>{_e(_fmt_action(acted))}</b>",
                 f"greedy: <b>{_e(_fmt_action(fp.greedy))}</b>", f"sampled: <b>{_e(_fmt_action(fp.sampled))}</b>"]
        if fp.value is not None:
            facts.append(f"value V(s): <b>{fp.value:.4f}</b>")
        if fp.entropy is not None:
            facts.append(f"entropy: <b>{fp.entropy:.4f}</b>")
        if fp.logp_greedy is not None:
            facts.append(f"log-prob of greedy: <b>{fp.logp_greedy:.4f}</b>")
        body = _action_html(space, fp.summary, fp.action_dist_inputs, fp.greedy, fp.sampled, "")
        facts = [f"<span style='white-space:nowrap'>{f}</span>" for f in facts]  # wrap between facts only
        return f"<div class='rx-kv'>{' · '.join(facts)}</div>{body}"


def _fmt_action(a: Any) -> str:
    if isinstance(a, dict):
        return "{" + ", ".join(f"{k}: {_fmt_action(v)}" for k, v in a.items()) + "}"
    if isinstance(a, tuple):
        return "(" + ", ".join(_fmt_action(v) for v in a) + ")"
    arr = np.asarray(a)
    if arr.ndim == 0:
        return f"{arr.item():.4g}" if np.issubdtype(arr.dtype, np.floating) else str(arr.item())
    return np.array2string(arr, precision=3, separator=", ", threshold=16, floatmode="maxprec_equal")


def _action_html(space: gym.Space, summary: dict[str, np.ndarray], logits: np.ndarray, greedy: Any, sampled: Any,
                 prefix: str) -> str:
    """Walk the action space: categorical bars, grouped bars, Bernoulli bars or Gaussian tracks."""
    from rlkit.distributions import required_input_dim

    if isinstance(space, (gym.spaces.Dict, gym.spaces.Tuple)):
        names = list(space.spaces) if isinstance(space, gym.spaces.Dict) else list(range(len(space.spaces)))
        parts, start = [], 0
        for name in names:
            child = space.spaces[name]
            width = required_input_dim(child)
            sub = _action_html(child, summary, logits[start:start + width], greedy[name], sampled[name], f"{prefix}{name}/")
            parts.append(f"<div class='rx-h'>action[{_e(repr(name))}]</div>{sub}")
            start += width
        return "".join(parts)
    if isinstance(space, gym.spaces.Discrete):
        probs = summary[prefix + "probs"]
        labels = [int(space.start) + i for i in range(int(space.n))]
        g, s = int(greedy) - int(space.start), int(sampled) - int(space.start)
        return probs_html(labels, logits, probs, g, s, "logits → probabilities → action")
    if isinstance(space, gym.spaces.MultiDiscrete):
        probs, out, start = summary[prefix + "probs"], [], 0
        nvec, starts = space.nvec.reshape(-1), space.start.reshape(-1)
        g, s = np.asarray(greedy).reshape(-1), np.asarray(sampled).reshape(-1)
        for j, (n, st) in enumerate(zip(nvec.tolist(), starts.tolist())):
            labels = [st + i for i in range(n)]
            out.append(probs_html(labels, logits[start:start + n], probs[start:start + n], int(g[j]) - st,
                                  int(s[j]) - st, f"component {j}: logits → probabilities → action"))
            start += n
        return "".join(out)
    if isinstance(space, gym.spaces.MultiBinary):
        probs = summary[prefix + "probs"]
        labels = [f"bit {i} = 1" for i in range(probs.size)]
        return probs_html(labels, logits, probs, -1, -1, f"P(bit = 1) per bit; greedy {_fmt_action(greedy)}, "
                                                          f"sampled {_fmt_action(sampled)}")
    if isinstance(space, gym.spaces.Box) and prefix + "mean" in summary:
        mean, std = summary[prefix + "mean"].reshape(-1), summary[prefix + "std"].reshape(-1)
        low, high = space.low.reshape(-1).astype(np.float64), space.high.reshape(-1).astype(np.float64)
        return gaussian_html(mean, std, np.asarray(sampled, np.float64).reshape(-1), low, high, "mean, std → sample")
    rows = "".join(f"<div>{_e(k)}: {_e(np.array2string(v, precision=3))}</div>" for k, v in summary.items()
                   if k.startswith(prefix))
    return rows or f"<div class='rx-sub'>no summary for {_e(repr(space))}</div>"
