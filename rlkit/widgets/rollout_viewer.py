"""`RolloutViewer`: step through a recorded rollout and see the module's outputs at every step."""

from __future__ import annotations

import os
import traceback
from collections import OrderedDict
from typing import Any

import ipywidgets as W
import numpy as np
import traitlets

from rlkit.widgets._frames import FrameStore
from rlkit.widgets._latest import LatestOnly
from rlkit.widgets._readouts import errors_html
from rlkit.widgets._view_data import (
    AgentTrack,
    CompareData,
    agent_ids,
    check_rollout,
    default_compare_name,
    episode_ids,
    load_compare,
)
from rlkit.widgets._viewer_panes import CompareTimelinePane, DistributionPane, ObservationPane, TimelinePane
from rlkit.widgets._viewer_render import ViewerRendering, overlaid_image

__all__ = ["RolloutViewer"]

#: Play speeds offered: label -> ms between steps.
SPEEDS = (("¼×", 400), ("½×", 200), ("1×", 100), ("2×", 50), ("4×", 25))


class RolloutViewer(ViewerRendering, W.VBox):
    """Step through a recorded rollout: the env frame, the action distribution, the value.

    Controls: play / pause (a ``Play`` widget linked to the step slider in the browser, so
    playback runs on the browser's clock), previous / next step, the step slider (arrow keys
    work once it has focus), episode and agent selectors, speed. Panes, all updated in place
    per step: the frame at its natural size (or the observation as bars / a heat-map when the
    rollout has no frames), the action distribution (taken and greedy action marked, masked
    actions hatched), a readouts table (action, value, log-prob, entropy, reward,
    return-to-go, advantage), and a timeline of the episode with a cursor. With ``compare=``
    a second module (or checkpoint folder) is replayed on the same observations and shown
    side by side, with a KL / greedy-agreement / value-gap timeline.

    State lives in three traits: ``step`` (row within the episode), ``episode`` (episode
    id) and ``agent`` (agent id, multi-agent rollouts only). Setting them from Python
    updates every pane before returning. Problems while building a view (an action space
    that cannot be drawn, a compare module that fails on the observations) are shown in the
    widget's error box; the rest of the viewer keeps working.

    Args:
        rollout: a :class:`rlkit.rollouts.Rollout` (``rlkit.rollout(..., record_frames=True)``
            for frames).
        compare: an ``RLModule``, ``MultiRLModule`` or a checkpoint path to replay.
        episode: episode id to open (default: the first).
        agent: agent id to open (multi-agent; default: the first).
        step: step to open.
        gamma, lambda_: for the return-to-go and the GAE advantages.
        frame_format: ``"auto"`` (PNG for small frames, JPEG for large), ``"png"`` or ``"jpeg"``.
        interval: ms between steps at 1× speed.
        action_space: the action space, if the rollout does not record it.
        compare_name: what to call the compared module (default: the checkpoint folder's
            name, or "other").

    Example:
        >>> import gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> from rlkit.rollouts import rollout
        >>> from rlkit.widgets import RolloutViewer
        >>> env = gym.make("CartPole-v1", render_mode="rgb_array")
        >>> module = RLModuleSpec(observation_space=env.observation_space, action_space=env.action_space).build()
        >>> viewer = RolloutViewer(rollout(module, env, num_steps=50, seed=0, record_frames=True))
        >>> viewer.step = 3
        >>> viewer.current()["step"], viewer.current()["t"]
        (3, 3)
    """

    step = traitlets.Int(0, help="row within the current episode")
    episode = traitlets.Any(None, help="id of the episode shown")
    agent = traitlets.Any(None, help="agent shown (multi-agent rollouts), else None")

    def __init__(self, rollout: Any, *, compare: Any = None, episode: Any = None, agent: Any = None, step: int = 0,
                 gamma: float = 0.99, lambda_: float = 0.95, frame_format: str = "auto", interval: int = 100,
                 action_space: Any = None, compare_name: str | None = None, **kwargs: Any) -> None:
        check_rollout(rollout)
        super().__init__(**kwargs)
        self._ready = False
        self.rollout = rollout
        self.gamma, self.lambda_ = float(gamma), float(lambda_)
        self._action_space = action_space
        self._errors: dict[str, tuple[str, str]] = {}  # what the error box shows now: {pane: (message, traceback)}
        self._build_errors: dict[str, tuple[str, str]] = {}
        self._tracks: dict[Any, AgentTrack] = {}
        self._dist_panes: dict[Any, DistributionPane | None] = {}
        self._obs_panes: dict[Any, ObservationPane | None] = {}
        self._compare_source = compare
        self._compare_data_by_agent: dict[Any, CompareData | None] = {}
        self._compare_panes: dict[Any, DistributionPane | None] = {}
        self._timeline = TimelinePane()
        self._ctimeline = CompareTimelinePane() if compare is not None else None
        self._episode_panes: dict[tuple, tuple[bytes, Any]] = {}
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._cache_bytes = 0
        self._latest = LatestOnly(self._render)
        self._agents = agent_ids(rollout)
        self.compare_name = (compare_name or default_compare_name(compare)) if compare is not None else None
        self._compare_module = None
        if compare is not None:
            self._compare_module = self._guard("compare", lambda: load_compare(compare))

        # ---- frames: rendered env frames, else image-like observations, else drawn observations
        self._frames: FrameStore | None = None
        frames = getattr(rollout, "frames", None)
        if frames is not None and len(frames):
            # Each frame is encoded once, the first time it is shown (then served from memory), so
            # building stays fast for long rollouts; stepping back and forth only swaps bytes.
            self._frames = self._guard("frames", lambda: FrameStore(frames, frame_format))
        self._frame_format = frame_format

        # ---- widgets (children are set once; panes are updated in place)
        first_agent = agent if agent is not None else self._agents[0]
        track = self._track(first_agent)
        self.play = W.Play(value=0, min=0, max=0, step=1, interval=int(interval), description="Play",
                           tooltip="play / pause", show_repeat=False, layout=W.Layout(flex="0 0 auto"))
        self.slider = W.IntSlider(value=0, min=0, max=0, description="step", continuous_update=True, readout=True,
                                  layout=W.Layout(width="320px"), style={"description_width": "34px"})
        self._play_link = W.jslink((self.play, "value"), (self.slider, "value"))  # the browser's clock drives the slider
        self.prev_button = W.Button(description="Prev", icon="step-backward", tooltip="previous step",
                                    layout=W.Layout(width="78px"))
        self.next_button = W.Button(description="Next", icon="step-forward", tooltip="next step",
                                    layout=W.Layout(width="78px"))
        self.episode_select = W.Dropdown(description="episode", layout=W.Layout(width="420px"),
                                         style={"description_width": "52px"})
        self.agent_select = W.Dropdown(options=[(str(a), a) for a in self._agents], description="agent",
                                       layout=W.Layout(width="170px", display="" if self._agents != [None] else "none"),
                                       style={"description_width": "40px"})
        self.speed_select = W.Dropdown(options=[(label, ms * int(interval) // 100) for label, ms in SPEEDS],
                                       value=int(interval), description="speed", layout=W.Layout(width="120px"),
                                       style={"description_width": "40px"})
        self.header = W.HTML(self._header_html())
        self.frame_image = W.Image(format="jpeg" if self._frames is not None and self._frames.format == "jpeg" else "png",
                                   layout=W.Layout(flex="0 0 auto"))
        self.frame_image.add_class("rlkit-viewer-frame")
        self.distribution_image = W.Image(format="png", layout=W.Layout(flex="0 0 auto"))
        self.distribution_image.add_class("rlkit-viewer-distribution")
        self.compare_distribution_image = W.Image(format="png", layout=W.Layout(
            flex="0 0 auto", display="" if compare is not None else "none"))
        self.compare_distribution_image.add_class("rlkit-viewer-compare-distribution")
        self.readout_html = W.HTML()
        self.readout_html.add_class("rlkit-viewer-readouts")
        self.timeline_image, self.timeline_cursor, timeline_box = overlaid_image("rlkit-viewer-timeline")
        self.compare_timeline_image, self.compare_timeline_cursor, compare_timeline_box = overlaid_image(
            "rlkit-viewer-compare-timeline")
        if compare is None:
            compare_timeline_box.layout.display = "none"
        self.error_html = W.HTML()
        self.error_html.add_class("rlkit-viewer-errors")
        controls = W.HBox([self.play, self.prev_button, self.slider, self.next_button, self.episode_select,
                           self.agent_select, self.speed_select],
                          layout=W.Layout(flex_flow="row wrap", align_items="center"))
        # frame + readouts, then the distribution(s): fits a default JupyterLab notebook (~970 px)
        # for a 600 px frame; every row wraps rather than squeezing the images.
        row = dict(flex_flow="row wrap", align_items="flex-start", grid_gap="8px")
        top = W.HBox([self.frame_image, self.readout_html], layout=W.Layout(**row))
        dists = W.HBox([self.distribution_image, self.compare_distribution_image], layout=W.Layout(**row))
        self.children = [self.header, controls, self.error_html, top, dists, timeline_box, compare_timeline_box]
        self.layout.align_items = "flex-start"  # images keep their natural size
        self.add_class("rlkit-rollout-viewer")

        # ---- wiring
        self.slider.observe(self._on_slider, names="value")
        self.prev_button.on_click(lambda _: self._shift(-1))
        self.next_button.on_click(lambda _: self._shift(+1))
        self.episode_select.observe(self._on_episode_select, names="value")
        self.agent_select.observe(self._on_agent_select, names="value")
        self.speed_select.observe(self._on_speed, names="value")

        # ---- initial state (validated), then the first render
        self.agent = first_agent
        self._fill_episodes(track)
        self.episode = episode if episode is not None else next(iter(track.episodes))
        self._ready = True
        self._show_new_episode()  # draws step 0
        self.step = step

    # ================================================================ validation
    @traitlets.validate("agent")
    def _valid_agent(self, proposal):
        if proposal["value"] not in self._agents:
            raise traitlets.TraitError(f"expected an agent id in {self._agents}, got {proposal['value']!r}.")
        return proposal["value"]

    @traitlets.validate("episode")
    def _valid_episode(self, proposal):
        episodes = self._track(self.agent).episodes
        if proposal["value"] not in episodes:
            raise traitlets.TraitError(
                f"expected an episode id of agent {self.agent!r}: one of {list(episodes)[:20]}"
                f"{' ...' if len(episodes) > 20 else ''}, got {proposal['value']!r}."
            )
        return proposal["value"]

    @traitlets.validate("step")
    def _valid_step(self, proposal):
        value = proposal["value"]
        if self.episode is None:
            return value
        n = self._track(self.agent).episodes[self.episode].length
        if not 0 <= value < n:
            raise traitlets.TraitError(
                f"expected a step in [0, {n - 1}] (episode {self.episode!r} has {n} steps), got {value}."
            )
        return value

    # ================================================================ observers
    @traitlets.observe("agent")
    def _on_agent(self, change) -> None:
        if not self._ready:
            return
        self.agent_select.value = change["new"]
        track = self._track(change["new"])
        self._ready = False
        self._fill_episodes(track)
        self.episode = self.episode if self.episode in track.episodes else next(iter(track.episodes))
        self._ready = True
        self._show_new_episode()

    @traitlets.observe("episode")
    def _on_episode_trait(self, change) -> None:
        if self._ready:
            self._show_new_episode()

    def _show_new_episode(self) -> None:
        n = self._track(self.agent).episodes[self.episode].length
        self._ready = False
        try:
            self.episode_select.value = self.episode
            self.step = 0
            self.play.playing = False
            self.slider.value = self.play.value = 0
            self.slider.max = self.play.max = n - 1
        finally:
            self._ready = True
        self._request()

    @traitlets.observe("step")
    def _on_step(self, change) -> None:
        if not self._ready:
            return
        self._ready = False
        try:
            self.slider.value = change["new"]
        finally:
            self._ready = True
        self._request(deferred=getattr(self, "_from_browser", False))

    def _on_slider(self, change) -> None:
        if not self._ready or change["new"] == self.step:
            return
        # True when the value arrived from the browser (ipywidgets locks the property while
        # applying a frontend update): draw it on the worker, latest-only.
        self._from_browser = "value" in self.slider._property_lock
        try:
            self.step = change["new"]
        except traitlets.TraitError:  # a stale value from the browser after an episode change
            self.slider.value = self.step
        finally:
            self._from_browser = False

    def _shift(self, delta: int) -> None:
        n = self._track(self.agent).episodes[self.episode].length
        self.play.playing = False
        self.step = int(np.clip(self.step + delta, 0, n - 1))

    def _on_episode_select(self, change) -> None:
        if self._ready and change["new"] is not None and change["new"] != self.episode:
            self.episode = change["new"]

    def _on_agent_select(self, change) -> None:
        if self._ready and change["new"] != self.agent:
            self.agent = change["new"]

    def _on_speed(self, change) -> None:
        self.play.interval = int(change["new"])

    def _fill_episodes(self, track: AgentTrack) -> None:
        self.episode_select.options = [(info.label(), eid) for eid, info in track.episodes.items()]

    # ================================================================ public
    def current(self) -> dict[str, Any]:
        """What the panes show now: step, t, row, action, greedy, prob, logp, entropy, value,
        reward, return_to_go, advantage, frame_index (and ``"compare"`` values in compare mode)."""
        track = self._track(self.agent)
        info = track.episodes[self.episode]
        return self._values(track, info, self.step, int(info.rows[self.step]))

    @property
    def errors(self) -> dict[str, str]:
        """The problems shown in the error box, ``{pane: message}``."""
        return {k: v[0] for k, v in self._errors.items()}

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until steps requested from the browser are drawn (scripts and tests)."""
        return self._latest.wait(timeout)

    def to_html(self, path: str | os.PathLike | None = None, *, title: str | None = None) -> Any:
        """A self-contained page that plays this view in any browser, no kernel needed.

        Frames and panes are embedded as data URIs, with a small JavaScript player (play /
        pause, step buttons, slider, episode / agent selectors, speed; arrow keys and space).
        Returns the path written, or the HTML text when ``path`` is None.
        """
        from rlkit.widgets._html_export import export_html

        with self._latest._render_lock:
            page = export_html(self, title=title)
        if path is None:
            return page
        import pathlib

        path = pathlib.Path(path)
        path.write_text(page, encoding="utf-8")
        return path

    # ================================================================ errors
    def _guard(self, what: str, fn) -> Any:
        try:
            return fn()
        except Exception as exc:
            self._show_error(what, exc)
            return None

    def _show_error(self, what: str, exc: BaseException) -> None:
        """Keep and show an error from building part of the view (it stays until the viewer is rebuilt)."""
        self._build_errors[what] = (f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=6))
        self._errors = {**self._errors, **self._build_errors}
        if hasattr(self, "error_html"):
            self.error_html.value = errors_html(self._errors)

    def _header_html(self, hint: str = "keys: ←/→ on the focused slider, Tab + Space on the buttons") -> str:
        import html

        meta = getattr(self.rollout, "metadata", {}) or {}
        bits = [str(meta[k]) for k in ("env", "module") if meta.get(k)]
        n = len(self.rollout)
        eps = len(episode_ids(self.rollout))
        text = " · ".join(bits + [f"{n} steps", f"{eps} episode{'s' if eps != 1 else ''}"])
        if self.compare_name is not None:
            text += f" · compared with {self.compare_name}"
        return (f'<div style="font-size:13px"><b>RolloutViewer</b> <span style="color:#555">{html.escape(text)}</span>'
                f'<span style="color:#888;font-size:11px;margin-left:12px">{html.escape(hint)}</span></div>')
