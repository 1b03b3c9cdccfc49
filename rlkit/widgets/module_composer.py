"""`ModuleComposer`: pick encoders and heads with controls, see the architecture live, export it."""

from __future__ import annotations

import html
import time
from typing import Any

import gymnasium as gym
import ipywidgets as W
import traitlets

from rlkit.widgets._composer_code import spec_to_code
from rlkit.widgets._composer_controls import (
    STYLE,
    PartControls,
    has_box,
    parse_filters,
    parse_sizes,
    sizes_text,
    supports_part_encoders,
    wide,
)
from rlkit.widgets._obs_controls import leaf_paths

__all__ = ["ModuleComposer", "parse_sizes", "parse_filters"]

_e = html.escape
_CSS = """<style>
.rlkit-module-composer .rc-h{font-weight:600;font-size:13px;margin:6px 0 2px;font-family:var(--jp-ui-font-family,sans-serif)}
.rlkit-module-composer .rc-sub{color:var(--jp-content-font-color2,#57606a);font-size:11px;font-family:var(--jp-ui-font-family,sans-serif)}
.rlkit-module-composer .rc-msg{border-left:4px solid #d62728;padding:3px 8px;background:rgba(214,39,40,.07);white-space:pre-wrap;font-size:12px;font-family:var(--jp-ui-font-family,sans-serif)}
.rlkit-module-composer .rc-stale{opacity:.45}
.rlkit-module-composer textarea{font-family:var(--jp-code-font-family,monospace);font-size:12px}
</style>"""


class ModuleComposer(W.VBox):
    """Compose rlkit's default actor-critic with controls; a live summary shows what you built.

    Controls: the observation encoder (MLP sizes and activation; CNN filters for images;
    one-hot for discrete parts; per part of a Dict / Tuple observation its own encoder and
    MLP), memory (none / LSTM / GRU and its size), shared or separate actor / critic
    encoders, head sizes and activation, free log std for continuous actions, inference-only.
    The summary (a diagram, a layer table with output shapes computed on a sample
    observation, parameter counts, what is shared) follows every change; an invalid choice
    shows a message and keeps the last valid architecture on screen.

    ``.spec`` is the :class:`~rlkit.RLModuleSpec`, ``.build()`` a fresh module, ``.code`` the
    Python that rebuilds it, ``.try_it()`` a short rollout in the env shown in the viewer.

    Example:
        >>> import gymnasium as gym
        >>> composer = ModuleComposer.from_env("CartPole-v1")
        >>> composer.model_config = {**composer.model_config, "fcnet_hiddens": [64, 64, 64]}
        >>> composer.spec.model_config["fcnet_hiddens"], composer.error
        ([64, 64, 64], '')
    """

    #: The model config being composed (plain JSON data, the keys of ``DefaultModelConfig``).
    model_config = traitlets.Dict()
    #: Build without the critic-only parts.
    inference_only = traitlets.Bool(False)
    #: The message shown for the last invalid choice ("" when the current choice is valid).
    error = traitlets.Unicode("")

    def __init__(self, observation_space: gym.Space, action_space: gym.Space, *, env: Any = None,
                 model_config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        from rlkit.models import DefaultModelConfig, check_action_space, check_observation_space
        from rlkit.models.config import ACTIVATIONS
        from rlkit.models.encoders.cnn import is_image_space

        check_observation_space(observation_space, "ModuleComposer")
        check_action_space(action_space, "ModuleComposer")
        self.observation_space, self.action_space, self.env = observation_space, action_space, env
        self.module = None  # the last valid build, what the summary shows
        self.anatomy = None
        self.last_update_ms: float | None = None
        self._quiet = False
        acts = sorted(ACTIVATIONS)
        leaves = [(p, s) for p, s in leaf_paths(observation_space) if p != ("action_mask",)]
        self._images = any(is_image_space(s) for _, s in leaves)
        self._multi_part = isinstance(observation_space, (gym.spaces.Dict, gym.spaces.Tuple))
        self._parts = ([PartControls(p, s, self._on_control) for p, s in leaves]
                       if self._multi_part and supports_part_encoders() else [])

        d = DefaultModelConfig()
        self.w_fc = W.Text(description="MLP hidden sizes", style=STYLE, layout=wide(), continuous_update=False)
        self.w_fc_act = W.Dropdown(options=acts, description="MLP activation", style=STYLE, layout=wide())
        self.w_conv = W.Text(description="CNN filters", style=STYLE, layout=wide(), continuous_update=False,
                             placeholder="auto, or [[16, 8, 4], [32, 4, 2]]")
        self.w_conv_act = W.Dropdown(options=acts, description="CNN activation", style=STYLE, layout=wide())
        self.w_memory = W.Dropdown(options=["none", "LSTM", "GRU"], description="memory", style=STYLE, layout=wide())
        self.w_cell = W.BoundedIntText(value=d.lstm_cell_size, min=1, max=4096, description="cell size",
                                       style=STYLE, layout=wide())
        self.w_share = W.ToggleButtons(options=[("shared encoder", True), ("separate encoders", False)],
                                       description="actor / critic", style={**STYLE, "button_width": "145px"})
        self.w_head = W.Text(description="head hidden sizes", style=STYLE, layout=wide(), continuous_update=False,
                             placeholder="none, e.g. 64")
        self.w_head_act = W.Dropdown(options=acts, description="head activation", style=STYLE, layout=wide())
        self.w_free_std = W.Checkbox(description="free log std (state-independent)", indent=False)
        self.w_inference = W.Checkbox(description="inference-only (no critic)", indent=False)
        self._controls = [self.w_fc, self.w_fc_act, self.w_conv, self.w_conv_act, self.w_memory, self.w_cell,
                          self.w_share, self.w_head, self.w_head_act, self.w_free_std]
        self._message = W.HTML()
        self._summary = W.HTML(layout=W.Layout(overflow="auto"))
        self._stats = W.HTML()
        self.w_export = W.Button(description="export code", icon="code", button_style="")
        self.w_try = W.Button(description="try it", icon="play", button_style="primary")
        self._code = W.Textarea(layout=W.Layout(width="100%", height="300px", display="none"))
        self._try_out = W.Output()

        self.w_conv.layout.display = self.w_conv_act.layout.display = "" if self._images and not self._parts else "none"
        self.w_free_std.layout.display = "" if has_box(action_space) else "none"
        encoder_box = [W.HTML("<div class='rc-h'>Encoder</div>"), *[p.widget for p in self._parts]]
        if self._parts:
            encoder_box.append(W.HTML("<div class='rc-sub'><b>after concatenating the parts</b></div>"))
        encoder_box += [self.w_fc, self.w_fc_act, self.w_conv, self.w_conv_act]
        left = W.VBox([
            *encoder_box,
            W.HTML("<div class='rc-h'>Memory</div>"), self.w_memory, self.w_cell,
            W.HTML("<div class='rc-h'>Actor and critic</div>"), self.w_share,
            W.HTML("<div class='rc-h'>Heads</div>"), self.w_head, self.w_head_act, self.w_free_std, self.w_inference,
            W.HBox([self.w_export, self.w_try]),
        ], layout=W.Layout(width="430px", min_width="430px"))
        right = W.VBox([self._stats, self._summary], layout=W.Layout(flex="1 1 560px", overflow="auto"))
        title = W.HTML(f"{_CSS}<div class='rc-h'>ModuleComposer</div><div class='rc-sub'>observation "
                       f"{_e(repr(observation_space))} &#8594; action {_e(repr(action_space))}</div>")
        body = W.HBox([left, right], layout=W.Layout(flex_flow="row wrap"))  # the summary wraps below when narrow
        super().__init__(children=[title, self._message, body, self._code, self._try_out], **kwargs)
        self.add_class("rlkit-module-composer")

        for w in self._controls:
            w.observe(self._on_control, names="value")
        W.link((self.w_inference, "value"), (self, "inference_only"))
        self.w_export.on_click(lambda _: self._safe(self.export_code))
        self.w_try.on_click(lambda _: self._safe(self.try_it))
        self.model_config = self._owned(dict(model_config or {}))  # validates, fills the controls, builds the summary

    @classmethod
    def from_env(cls, env: Any, **kwargs: Any) -> ModuleComposer:
        """A composer for ``env``'s spaces (an env or an env id); "try it" runs in that env."""
        if isinstance(env, str):
            env = gym.make(env, render_mode="rgb_array")
        return cls(env.observation_space, env.action_space, env=env, **kwargs)

    # ------------------------------------------------------------------ config <-> controls

    def _owned(self, user_cfg: dict[str, Any]) -> dict[str, Any]:
        """The entries the composer edits (defaults made explicit, so the exported code is exact),
        plus every entry of ``user_cfg`` (e.g. initialisers), validated."""
        from rlkit.models import DefaultModelConfig

        full = DefaultModelConfig.from_dict(user_cfg).to_dict()
        keys = ["fcnet_hiddens", "fcnet_activation", "head_fcnet_hiddens", "head_fcnet_activation",
                "vf_share_layers", "use_lstm", "use_gru", "lstm_cell_size"]
        if self._images and not self._parts:
            keys += ["conv_filters", "conv_activation"]
        if has_box(self.action_space):
            keys.append("free_log_std")
        out = {k: full[k] for k in keys}
        out.update({k: full[k] for k in user_cfg})
        if self._parts:  # every part explicit: the controls' defaults, then what the user asked for
            out["part_encoders"] = {**{p.key: p.config() for p in self._parts}, **(full.get("part_encoders") or {})}
        return out

    def _config_from_controls(self) -> dict[str, Any]:
        cfg = dict(self.model_config)
        cfg["fcnet_hiddens"] = parse_sizes(self.w_fc.value, "MLP hidden sizes")
        cfg["fcnet_activation"] = self.w_fc_act.value
        cfg["head_fcnet_hiddens"] = parse_sizes(self.w_head.value, "head hidden sizes")
        cfg["head_fcnet_activation"] = self.w_head_act.value
        cfg["vf_share_layers"] = bool(self.w_share.value)
        cfg["use_lstm"], cfg["use_gru"] = self.w_memory.value == "LSTM", self.w_memory.value == "GRU"
        cfg["lstm_cell_size"] = int(self.w_cell.value)
        if self._images and not self._parts:
            cfg["conv_filters"] = parse_filters(self.w_conv.value)
            cfg["conv_activation"] = self.w_conv_act.value
        if has_box(self.action_space):
            cfg["free_log_std"] = bool(self.w_free_std.value)
        if self._parts:
            cfg["part_encoders"] = {p.key: p.config() for p in self._parts}
        return cfg

    def _show_config(self, cfg: dict[str, Any]) -> None:
        self._quiet = True
        try:
            self.w_fc.value = sizes_text(cfg.get("fcnet_hiddens", []))
            self.w_fc_act.value = cfg.get("fcnet_activation") or "linear"
            self.w_head.value = sizes_text(cfg.get("head_fcnet_hiddens", []))
            self.w_head_act.value = cfg.get("head_fcnet_activation") or "linear"
            self.w_share.value = bool(cfg.get("vf_share_layers", True))
            self.w_memory.value = "LSTM" if cfg.get("use_lstm") else "GRU" if cfg.get("use_gru") else "none"
            self.w_cell.value = int(cfg.get("lstm_cell_size", self.w_cell.value))
            filters = cfg.get("conv_filters")
            self.w_conv.value = "auto" if filters is None else repr([list(f) for f in filters])
            self.w_conv_act.value = cfg.get("conv_activation") or "linear"
            self.w_free_std.value = bool(cfg.get("free_log_std", False))
            for p in self._parts:
                p.show((cfg.get("part_encoders") or {}).get(p.key, {}))
        finally:
            self._quiet = False
        self.w_cell.layout.display = "none" if self.w_memory.value == "none" else ""

    @traitlets.validate("model_config")
    def _validate_config(self, proposal: dict) -> dict[str, Any]:
        from rlkit.models import resolve_model_config

        cfg = dict(proposal["value"])
        try:
            full = resolve_model_config(cfg).to_dict()  # raises ModelConfigError naming the entry
        except ValueError as err:
            raise traitlets.TraitError(str(err)) from None
        return {k: full[k] for k in cfg}  # normalised (lists, lower-case names), same entries

    @traitlets.observe("model_config", "inference_only")
    def _on_config(self, change: dict) -> None:
        if change["name"] == "model_config":
            self._show_config(change["new"])
        self._rebuild()

    def _on_control(self, change: dict) -> None:
        if self._quiet:
            return
        for p in self._parts:
            p.sync_visibility()
        self.w_cell.layout.display = "none" if self.w_memory.value == "none" else ""
        self._safe(self._apply_controls)

    def _apply_controls(self) -> None:
        before = self.model_config
        self.model_config = self._config_from_controls()  # validated; observers rebuild on a change
        if self.model_config == before and self.error:  # back to the last valid choice: clear the message
            self._rebuild()

    # ------------------------------------------------------------------ errors

    def _safe(self, fn) -> None:
        """Run a callback; an error becomes the message in the widget (never a traceback)."""
        try:
            fn()
        except Exception as err:
            self._show_error(err)

    def _show_error(self, err: Exception | str) -> None:
        if isinstance(err, (traitlets.TraitError, ValueError)) and not isinstance(err, str):
            msg = str(err)
        else:
            msg = err if isinstance(err, str) else f"{type(err).__name__}: {err}"
        self.error = msg
        self._message.value = f"{_CSS}<div class='rc-msg'>{_e(msg)}</div>"
        self._summary.add_class("rc-stale")

    def _clear_error(self) -> None:
        self.error = ""
        self._message.value = ""
        self._summary.remove_class("rc-stale")

    # ------------------------------------------------------------------ results

    @property
    def spec(self):
        """The :class:`~rlkit.RLModuleSpec` of the current (valid) choice."""
        from rlkit.rl_module_spec import RLModuleSpec

        return RLModuleSpec(observation_space=self.observation_space, action_space=self.action_space,
                            inference_only=self.inference_only, model_config=dict(self.model_config))

    def build(self):
        """A freshly built (randomly initialised) module of the current choice."""
        return self.spec.build()

    @property
    def code(self) -> str:
        """The Python source that rebuilds exactly this module (spaces, spec, ``build()``)."""
        env_id = None
        spec = getattr(getattr(self.env, "spec", None), "id", None)
        if spec is not None:
            try:
                probe = gym.make(spec)
                if probe.observation_space == self.observation_space and probe.action_space == self.action_space:
                    env_id = spec
                probe.close()
            except Exception:  # an env that cannot be re-made by id: spell the spaces out
                env_id = None
        return spec_to_code(self.observation_space, self.action_space, dict(self.model_config),
                            self.inference_only, env_id=env_id)

    def export_code(self) -> str:
        """Show :attr:`code` in the widget (a text box to copy from) and return it."""
        code = self.code
        self._code.value = code
        self._code.layout.display = ""
        return code

    def _rebuild(self) -> None:
        """Build the module for the current config and redraw the summary (errors shown)."""
        import torch

        from rlkit._anatomy import module_anatomy
        from rlkit.reprs import module_html

        t0 = time.perf_counter()
        try:
            with torch.random.fork_rng(devices=[]):  # the same weights every time; the user's RNG untouched
                torch.default_generator.manual_seed(0)  # CPU only: no lazy CUDA seeding
                module = self.spec.build()
            anatomy = module_anatomy(module)
            if anatomy.error:
                raise RuntimeError(f"the module builds but fails on a sample observation: {anatomy.error}")
            summary = module_html(module, anatomy=anatomy, layers_open=True)
        except Exception as err:
            self._show_error(err)
            return
        self.module, self.anatomy = module, anatomy
        actor = anatomy.n_inference
        self._stats.value = (f"<div class='rc-h'>{anatomy.n_params:,} parameters</div><div class='rc-sub'>"
                             f"{actor:,} used when acting, {anatomy.n_params - actor:,} critic-only</div>")
        self._summary.value = summary
        self._clear_error()
        self.last_update_ms = 1e3 * (time.perf_counter() - t0)

    def try_it(self, num_steps: int = 200, seed: int = 0):
        """Run the current module for ``num_steps`` in the env and show the rollout in the viewer."""
        if self.env is None:
            raise ValueError("try it needs an environment: make the composer with ModuleComposer.from_env(env) "
                             "or ModuleComposer(..., env=env).")
        try:
            from rlkit.rollouts import rollout
            from rlkit.widgets.rollout_viewer import RolloutViewer
        except ImportError as err:
            raise RuntimeError(f"try it needs rlkit's rollouts and RolloutViewer, which failed to import: {err}") from None
        frames = getattr(self.env, "render_mode", None) == "rgb_array"
        result = rollout(self.build(), self.env, num_steps=num_steps, explore=True, seed=seed, record_frames=frames)
        viewer = RolloutViewer(result)
        # The viewer goes into the Output area as a widget view (works with and without a kernel's
        # display hook); a new "try it" replaces the previous one.
        self._try_out.outputs = ({
            "output_type": "display_data", "metadata": {},
            "data": {"text/plain": f"RolloutViewer({num_steps} steps)",
                     "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0,
                                                                  "model_id": viewer.model_id}},
        },)
        return viewer
