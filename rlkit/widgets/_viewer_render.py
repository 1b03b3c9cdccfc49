"""The viewer's drawing half: build each pane once, then per step update them in place.

`ViewerRendering` is mixed into :class:`~rlkit.widgets.RolloutViewer`; it owns the pane
objects, the PNG cache and ``_render(key)``, which draws every pane for ``(agent, episode,
step)`` and puts a failing pane's error in the error box instead of raising.
"""

from __future__ import annotations

import traceback
from typing import Any

import ipywidgets as W
import numpy as np

from rlkit.plots._data import take_rows
from rlkit.widgets._frames import FrameStore
from rlkit.widgets._readouts import errors_html, readout_html
from rlkit.widgets._view_data import AgentTrack, CompareData, py_value, replay_for
from rlkit.widgets._viewer_panes import DistributionPane, ObservationPane

__all__ = ["ViewerRendering", "overlaid_image"]

_CACHE_BYTES = 96 * 2**20  # rendered pane PNGs kept for instant revisits


class ViewerRendering:
    """Pane building and per-step drawing (state and widgets live in ``RolloutViewer``)."""

    # ================================================================ data
    def _track(self, agent: Any) -> AgentTrack:
        if agent not in self._tracks:
            part = self.rollout if agent is None else self.rollout.for_agent(agent)
            self._tracks[agent] = AgentTrack(part, agent, gamma=self.gamma, lambda_=self.lambda_,
                                             action_space=self._action_space)
        return self._tracks[agent]

    def _dist_pane(self, agent: Any) -> DistributionPane | None:
        if agent not in self._dist_panes:
            track = self._track(agent)
            self._dist_panes[agent] = None
            if track.parts is not None:
                self._dist_panes[agent] = self._guard("distribution", lambda: DistributionPane(
                    track.parts, title="this module" if self._compare_module is not None else ""))
        return self._dist_panes[agent]

    def _compare_data(self, agent: Any) -> CompareData | None:
        if agent not in self._compare_data_by_agent:
            self._compare_data_by_agent[agent] = None
            if self._compare_module is not None:
                track = self._track(agent)
                self._compare_data_by_agent[agent] = self._guard("compare", lambda: CompareData(
                    track, replay_for(self._compare_module, track), self.compare_name))
        return self._compare_data_by_agent[agent]

    def _compare_pane(self, agent: Any) -> DistributionPane | None:
        if agent not in self._compare_panes:
            data = self._compare_data(agent)
            self._compare_panes[agent] = None
            if data is not None and data.parts is not None:
                self._compare_panes[agent] = self._guard(
                    "compare distribution", lambda: DistributionPane(data.parts, title=self.compare_name))
        return self._compare_panes[agent]

    def _obs_pane(self, agent: Any) -> ObservationPane | None:
        if agent not in self._obs_panes:
            track = self._track(agent)
            self._obs_panes[agent] = None
            if not track.obs_is_image():
                def build():
                    matrix, labels = track.observation_matrix()
                    return ObservationPane(matrix, labels)
                self._obs_panes[agent] = self._guard("observation", build)
        return self._obs_panes[agent]

    # ================================================================ rendering
    def _request(self, deferred: bool = False) -> None:
        if self._ready and self.episode is not None:
            self._latest.request((self.agent, self.episode, self.step), deferred=deferred)

    def _render(self, key: tuple) -> None:
        """Draw every pane for ``key = (agent, episode, step)``; a failing pane shows its error."""
        agent, episode, step = key
        track = self._track(agent)
        info = track.episodes[episode]
        row = int(info.rows[step])
        errors: dict[str, tuple[str, str]] = dict(self._build_errors)  # from building parts of the view
        for what, message in track.errors.items():
            errors[what] = (message, "")
        self._pane(errors, "frame", lambda: self._render_frame(agent, track, row))
        self._pane(errors, "distribution", lambda: self._render_distribution(agent, row))
        self._pane(errors, "timeline", lambda: self._render_timeline(agent, episode, track, info, step))
        if self._compare_source is not None:
            self._pane(errors, "compare", lambda: self._render_compare(agent, episode, track, info, step, row))
        self._pane(errors, "readouts", lambda: self._render_readouts(track, info, step, row))
        errors.update(self._build_errors)  # parts first built during this render
        self._errors = errors
        html = errors_html(errors)
        if self.error_html.value != html:
            self.error_html.value = html

    def _pane(self, errors: dict, name: str, fn) -> None:
        try:
            fn()
        except Exception as exc:
            errors[name] = (f"{type(exc).__name__}: {exc}", traceback.format_exc(limit=6))

    def _cached(self, key: tuple, make) -> bytes:
        data = self._cache.get(key)
        if data is None:
            data = make()
            self._cache[key] = data
            self._cache_bytes += len(data)
            while self._cache_bytes > _CACHE_BYTES and self._cache:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= len(old)
        else:
            self._cache.move_to_end(key)
        return data

    def _set_image(self, image: W.Image, data: bytes, size: tuple[int, int] | None, fmt: str = "png") -> None:
        if size is not None:
            w, h = f"{size[0]}px", f"{size[1]}px"
            if image.layout.width != w or image.layout.height != h:
                image.layout.width, image.layout.height = w, h
        if image.format != fmt:
            image.format = fmt
        if image.value != data:
            image.value = data

    def _render_frame(self, agent: Any, track: AgentTrack, row: int) -> None:
        data, fmt, size = self._frame_for(agent, track, row)
        self._set_image(self.frame_image, data, size, fmt)

    def _frame_for(self, agent: Any, track: AgentTrack, row: int) -> tuple[bytes, str, tuple[int, int]]:
        """(image bytes, format, (width, height)) of what the frame pane shows at ``row``."""
        if self._frames is not None and track.frame_index is not None:
            fi = int(track.frame_index[row])
            if fi < 0:
                raise ValueError(f"row {row} has no frame (frame_index = {fi}).")
            return self._frames[fi], self._frames.format, (self._frames.width, self._frames.height)
        if track.obs_is_image():
            store = self._obs_frames(agent, track)
            return store[row], store.format, (store.width, store.height)
        pane = self._obs_pane(agent)
        if pane is None:
            raise ValueError(self._errors.get("observation", ("the observation cannot be drawn", ""))[0])
        return self._cached(("obs", agent, row), lambda: pane.render(row)), "png", pane.size

    def _obs_frames(self, agent: Any, track: AgentTrack) -> FrameStore:
        key = ("obs-frames", agent)
        if key not in self._obs_panes:
            self._obs_panes[key] = FrameStore(track.obs, self._frame_format)
        return self._obs_panes[key]

    def _render_distribution(self, agent: Any, row: int) -> None:
        pane = self._dist_pane(agent)
        if pane is None:
            return
        self._set_image(self.distribution_image, self._cached(("dist", agent, row), lambda: pane.render(row)), pane.size)

    def _episode_pane(self, name: str, key: tuple, pane: Any, draw) -> tuple[bytes, Any]:
        """(png, cursor map) of a per-episode pane, drawn once per (agent, episode) and kept."""
        entry = self._episode_panes.get((name, *key))
        if entry is None:
            png = draw()
            entry = self._episode_panes[(name, *key)] = (png, pane.cursor)
        return entry

    def _render_timeline(self, agent: Any, episode: Any, track: AgentTrack, info, step: int) -> None:
        png, where = self._episode_pane("timeline", (agent, episode), self._timeline, lambda: self._timeline.set_episode(
            track.timeline(info.rows), title=f"episode {episode}"))
        self._set_image(self.timeline_image, png, self._timeline.size)
        _size_cursor(self.timeline_cursor, where)
        _move_cursor(self.timeline_cursor, where, step)

    def _render_compare(self, agent: Any, episode: Any, track: AgentTrack, info, step: int, row: int) -> None:
        data = self._compare_data(agent)
        if data is None:
            return
        for what, message in data.errors.items():
            self._build_errors[f"compare {what}"] = (message, "")
        pane = self._compare_pane(agent)
        if pane is not None:
            self._set_image(self.compare_distribution_image,
                            self._cached(("cdist", agent, row), lambda: pane.render(row)), pane.size)
        pick = lambda a: None if a is None else np.asarray(a)[info.rows]  # noqa: E731
        png, where = self._episode_pane("ctimeline", (agent, episode), self._ctimeline, lambda: self._ctimeline.set_episode(
            track.t[info.rows], pick(data.kl), pick(data.agree), pick(data.gap), other=self.compare_name))
        self._set_image(self.compare_timeline_image, png, self._ctimeline.size)
        _size_cursor(self.compare_timeline_cursor, where)
        _move_cursor(self.compare_timeline_cursor, where, step)

    def _render_readouts(self, track: AgentTrack, info, step: int, row: int) -> None:
        html = self._readout_markup(track, info, step, row)
        if self.readout_html.value != html:
            self.readout_html.value = html

    def _readout_markup(self, track: AgentTrack, info, step: int, row: int) -> str:
        values = self._values(track, info, step, row)
        cmp = values.get("compare") or {}
        rows = [
            ("action", "action", values["action"], None),
            ("greedy action", "greedy", values["greedy"], cmp.get("greedy")),
            ("P(action)", "prob", values["prob"], None),
            ("log-prob", "logp", values["logp"], cmp.get("logp")),
            ("entropy", "entropy", values["entropy"], cmp.get("entropy")),
            ("value V(s)", "value", values["value"], cmp.get("value")),
            ("reward", "reward", values["reward"], None),
            ("return-to-go", "return_to_go", values["return_to_go"], None),
            ("advantage", "advantage", values["advantage"], None),
        ]
        if self._compare_source is not None:
            rows += [(f"KL(this‖{self.compare_name})", "kl", None, cmp.get("kl")),
                     ("greedy actions agree", "agree", None, cmp.get("agree"))]
        ended = " · terminated" if values["terminated"] else " · truncated" if values["truncated"] else ""
        who = f"agent {track.agent} · " if track.agent is not None else ""
        header = f"{who}episode {info.id} · step {step} of {info.length - 1} (t = {values['t']}){ended}"
        return readout_html(header, rows, self.compare_name if self._compare_source is not None else None)

    def _values(self, track: AgentTrack, info, step: int, row: int) -> dict[str, Any]:
        at = lambda a: None if a is None else _scalar(a[row])  # noqa: E731
        values = {
            "agent": track.agent, "episode": info.id, "step": step, "row": row, "t": at(track.t),
            "action": track.action_at(row, "taken"), "greedy": track.action_at(row, "greedy"),
            "prob": at(track.prob), "logp": at(track.logp), "entropy": at(track.entropy), "value": at(track.values),
            "reward": at(track.rewards), "return_to_go": at(track.returns), "advantage": at(track.advantages),
            "terminated": bool(at(track.terminated)) if track.terminated is not None else False,
            "truncated": bool(at(track.truncated)) if track.truncated is not None else False,
            "frame_index": at(track.frame_index),
        }
        data = self._compare_data_by_agent.get(track.agent)
        if data is not None:
            values["compare"] = {
                "greedy": None if data.greedy is None else py_value(take_rows(data.greedy, np.array([row])), single=True),
                "logp": at(data.logp), "entropy": at(data.entropy), "value": at(data.values), "kl": at(data.kl),
                "agree": None if data.agree is None else bool(data.agree[row]), "value_gap": at(data.gap),
            }
        return values


def overlaid_image(css_class: str) -> tuple[W.Image, W.Box, W.GridBox]:
    """An Image with a 2-px cursor line laid over it (both in one grid cell); the cursor moves by CSS margin."""
    image = W.Image(format="png", layout=W.Layout(grid_area="stack", margin="0"))
    cursor = W.Box(layout=W.Layout(grid_area="stack", width="0px", height="0px", margin="0",
                                   border_left="2px solid rgba(20, 20, 20, 0.85)"))
    cursor.add_class("rlkit-viewer-cursor")
    box = W.GridBox([image, cursor], layout=W.Layout(grid_template_areas='"stack"', justify_items="flex-start",
                                                     align_items="flex-start", flex="0 0 auto"))
    box.add_class(css_class)
    return image, cursor, box


def _size_cursor(cursor: W.Box, where: Any) -> None:
    height = f"{max(int(round(where.bottom - where.top)), 1)}px"
    if cursor.layout.height != height:
        cursor.layout.height = height


def _move_cursor(cursor: W.Box, where: Any, i: int) -> None:
    margin = f"{int(round(where.top))}px 0px 0px {where.pixel(i) - 1}px"  # 2-px line centred on the column
    if cursor.layout.margin != margin:
        cursor.layout.margin = margin


def _scalar(x: Any) -> Any:
    a = np.asarray(x)
    return a.item() if a.ndim == 0 else a.tolist()
