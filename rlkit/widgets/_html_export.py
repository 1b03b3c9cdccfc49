"""`RolloutViewer.to_html`: the same view as a self-contained page with a small JavaScript player."""

from __future__ import annotations

import base64
import html
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlkit.widgets.rollout_viewer import RolloutViewer

__all__ = ["export_html"]


class _ImagePool:
    """Image bytes -> index into one list of data URIs; identical images are stored once."""

    def __init__(self) -> None:
        self.uris: list[str] = []
        self._index: dict[bytes, int] = {}

    def add(self, data: bytes | None, fmt: str = "png") -> int:
        if not data:
            return -1
        i = self._index.get(data)
        if i is None:
            mime = "image/jpeg" if fmt == "jpeg" else "image/png"
            i = self._index[data] = len(self.uris)
            self.uris.append(f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}")
        return i


def _timeline_entry(pool: _ImagePool, png: bytes, where: Any, size: tuple[int, int]) -> dict[str, Any]:
    return {"img": pool.add(png), "w": size[0], "h": size[1], "top": round(where.top),
            "height": max(round(where.bottom - where.top), 1), "px": where.pixels()}


def export_html(viewer: RolloutViewer, title: str | None = None) -> str:
    """The page's HTML: every agent, episode and step of ``viewer``, images as data URIs."""
    pool = _ImagePool()
    agents = []
    for agent in viewer._agents:
        track = viewer._track(agent)
        dist = viewer._dist_pane(agent)
        compare = viewer._compare_data(agent) if viewer._compare_source is not None else None
        cpane = viewer._compare_pane(agent) if compare is not None else None
        episodes = []
        for eid, info in track.episodes.items():
            frames, dists, cdists, readouts = [], [], [], []
            for step, row in enumerate(info.rows):
                row = int(row)
                try:
                    data, fmt, size = viewer._frame_for(agent, track, row)
                    frames.append([pool.add(data, fmt), size[0], size[1]])
                except Exception:
                    frames.append([-1, 0, 0])
                dists.append(pool.add(viewer._cached(("dist", agent, row), lambda: dist.render(row))) if dist else -1)
                cdists.append(pool.add(viewer._cached(("cdist", agent, row), lambda: cpane.render(row))) if cpane else -1)
                readouts.append(viewer._readout_markup(track, info, step, row))
            png, where = viewer._episode_pane("timeline", (agent, eid), viewer._timeline, lambda: viewer._timeline.set_episode(
                track.timeline(info.rows), title=f"episode {eid}"))
            entry = {"id": _jsonable(eid), "label": info.label(), "frames": frames, "dist": dists, "cdist": cdists,
                     "readouts": readouts, "timeline": _timeline_entry(pool, png, where, viewer._timeline.size)}
            if compare is not None:
                pick = lambda a: None if a is None else a[info.rows]  # noqa: E731
                png, where = viewer._episode_pane("ctimeline", (agent, eid), viewer._ctimeline,
                                                  lambda: viewer._ctimeline.set_episode(
                                                      track.t[info.rows], pick(compare.kl), pick(compare.agree),
                                                      pick(compare.gap), other=viewer.compare_name))
                entry["ctimeline"] = _timeline_entry(pool, png, where, viewer._ctimeline.size)
            episodes.append(entry)
        agents.append({"id": _jsonable(agent), "label": "" if agent is None else str(agent), "episodes": episodes})
    data = {"agents": agents, "images": pool.uris, "interval": int(viewer.play.interval),
            "start": {"agent": viewer._agents.index(viewer.agent),
                      "episode": list(viewer._track(viewer.agent).episodes).index(viewer.episode), "step": viewer.step}}
    heading = title or "rlkit RolloutViewer"
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")  # no '</script>' inside the script
    return (_PAGE.replace("__TITLE__", html.escape(heading))
            .replace("__HEADER__", viewer._header_html(hint="keys: ←/→ step, Space play / pause, Home / End"))
            .replace("__DATA__", payload))


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        x = x.item()
    return x if isinstance(x, (int, float, str, bool)) or x is None else str(x)


_PAGE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
 body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:16px;color:#222}
 .rlkit-rollout-viewer{display:flex;flex-direction:column;gap:6px;align-items:flex-start}
 .controls{display:flex;flex-wrap:wrap;gap:6px;align-items:center}
 .controls button{min-width:64px;padding:3px 8px;font-size:13px;cursor:pointer}
 .controls label{font-size:12px;color:#555}
 .main{display:flex;flex-wrap:wrap;gap:8px;align-items:flex-start}
 .overlay{position:relative;flex:0 0 auto}
 .overlay img{display:block}
 .cursor{position:absolute;width:0;border-left:2px solid rgba(20,20,20,.85);pointer-events:none}
 img{image-rendering:auto}
 .hidden{display:none!important}
</style></head>
<body>
<div class="rlkit-rollout-viewer" id="viewer">
 <div class="header">__HEADER__</div>
 <div class="controls">
  <button id="play" title="play / pause (Space)">&#9654; Play</button>
  <button id="prev" title="previous step (&larr;)">&#9664; Prev</button>
  <label>step <input id="slider" type="range" min="0" max="0" value="0" style="width:300px;vertical-align:middle"></label>
  <span id="readout" class="step-readout">0</span>
  <button id="next" title="next step (&rarr;)">Next &#9654;</button>
  <label>episode <select id="episode"></select></label>
  <label id="agent-label">agent <select id="agent"></select></label>
  <label>speed <select id="speed"></select></label>
 </div>
 <div class="main">
  <img id="frame" class="rlkit-viewer-frame" alt="environment frame">
  <div id="readouts" class="rlkit-viewer-readouts"></div>
 </div>
 <div class="main"><img id="dist" class="rlkit-viewer-distribution" alt="action distribution">
  <img id="cdist" class="rlkit-viewer-compare-distribution" alt="compared distribution"></div>
 <div class="overlay rlkit-viewer-timeline" id="tl"><img id="tl-img" alt="timeline"><div class="cursor" id="tl-cur"></div></div>
 <div class="overlay rlkit-viewer-compare-timeline" id="ctl"><img id="ctl-img" alt="comparison timeline"><div class="cursor" id="ctl-cur"></div></div>
</div>
<script>
"use strict";
const D = __DATA__;
const $ = (id) => document.getElementById(id);
const S = {agent: D.start.agent, episode: D.start.episode, step: D.start.step, timer: null, interval: D.interval};
const ep = () => D.agents[S.agent].episodes[S.episode];
function setImg(el, idx, w, h) {
  if (idx < 0) { el.classList.add("hidden"); return; }
  el.classList.remove("hidden");
  const src = D.images[idx];
  if (el.getAttribute("src") !== src) el.setAttribute("src", src);
  if (w) { el.width = w; el.height = h; }
}
function placeCursor(cur, tl, step) {
  cur.style.top = tl.top + "px"; cur.style.height = tl.height + "px"; cur.style.left = (tl.px[step] - 1) + "px";
}
function show() {
  const e = ep(), s = S.step;
  const f = e.frames[s]; setImg($("frame"), f[0], f[1], f[2]);
  setImg($("dist"), e.dist[s]); setImg($("cdist"), e.cdist[s]);
  $("readouts").innerHTML = e.readouts[s];
  setImg($("tl-img"), e.timeline.img, e.timeline.w, e.timeline.h); placeCursor($("tl-cur"), e.timeline, s);
  if (e.ctimeline) { $("ctl").classList.remove("hidden"); setImg($("ctl-img"), e.ctimeline.img, e.ctimeline.w, e.ctimeline.h); placeCursor($("ctl-cur"), e.ctimeline, s); }
  else $("ctl").classList.add("hidden");
  $("slider").value = s; $("readout").textContent = s;
}
function setStep(s) { S.step = Math.max(0, Math.min(s, ep().frames.length - 1)); show(); }
function stop() { if (S.timer) { clearInterval(S.timer); S.timer = null; } $("play").innerHTML = "&#9654; Play"; }
function play() {
  if (S.timer) { stop(); return; }
  if (S.step >= ep().frames.length - 1) setStep(0);
  $("play").innerHTML = "&#10074;&#10074; Pause";
  S.timer = setInterval(() => { if (S.step >= ep().frames.length - 1) stop(); else setStep(S.step + 1); }, S.interval);
}
function fillEpisodes() {
  const sel = $("episode"); sel.innerHTML = "";
  D.agents[S.agent].episodes.forEach((e, i) => sel.add(new Option(e.label, i)));
  sel.value = S.episode;
}
function openEpisode(i) { stop(); S.episode = i; $("slider").max = ep().frames.length - 1; setStep(0); }
D.agents.forEach((a, i) => $("agent").add(new Option(a.label, i)));
if (D.agents.length < 2) $("agent-label").classList.add("hidden");
[["¼×", 4], ["½×", 2], ["1×", 1], ["2×", 0.5], ["4×", 0.25]].forEach(([l, k]) => $("speed").add(new Option(l, Math.round(D.interval * k))));
$("speed").value = D.interval;
$("agent").value = S.agent; fillEpisodes();
$("slider").max = ep().frames.length - 1;
$("play").onclick = play;
$("prev").onclick = () => { stop(); setStep(S.step - 1); };
$("next").onclick = () => { stop(); setStep(S.step + 1); };
$("slider").oninput = () => setStep(parseInt($("slider").value, 10));
$("episode").onchange = () => openEpisode(parseInt($("episode").value, 10));
$("agent").onchange = () => { S.agent = parseInt($("agent").value, 10); S.episode = 0; fillEpisodes(); openEpisode(0); };
$("speed").onchange = () => { S.interval = parseInt($("speed").value, 10); if (S.timer) { stop(); play(); } };
document.addEventListener("keydown", (ev) => {
  const tag = (ev.target && ev.target.tagName) || "";
  if (tag === "SELECT" || (tag === "INPUT" && ev.key === " ")) return;
  if (ev.key === "ArrowRight") { stop(); setStep(S.step + 1); ev.preventDefault(); }
  else if (ev.key === "ArrowLeft") { stop(); setStep(S.step - 1); ev.preventDefault(); }
  else if (ev.key === " ") { play(); ev.preventDefault(); }
  else if (ev.key === "Home") { stop(); setStep(0); }
  else if (ev.key === "End") { stop(); setStep(ep().frames.length - 1); }
});
show();
</script>
</body></html>
"""
