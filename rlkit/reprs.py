"""Rich notebook representations of modules and specs (HTML + text/plain, no widgets).

Modules and specs render as a collapsible diagram, observation -> encoder -> policy head ||
value head -> outputs, with spaces, output shapes on a sample observation, parameter counts,
what is shared, and the inference-only flag. The HTML is CSS-only (no JavaScript), so it works
in JupyterLab, VS Code and exported static HTML; every element id is unique per rendering; and
when a front end strips the styles (an untrusted notebook) a plain-text fallback shows instead.

Example:
    >>> import gymnasium as gym
    >>> from rlkit import RLModuleSpec
    >>> m = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)), action_space=gym.spaces.Discrete(2)).build()
    >>> bundle = module_mimebundle(m)
    >>> sorted(bundle)
    ['text/html', 'text/plain']
"""

from __future__ import annotations

import dataclasses
import html
import itertools
import uuid
from typing import Any, Iterable, Sequence

from rlkit._anatomy import Anatomy, Part, module_anatomy

__all__ = [
    "module_mimebundle", "spec_mimebundle", "module_html", "module_text",
    "html_block", "html_table", "ok_mark", "new_uid",
]

_e = html.escape
_ROLE_CLASS = {
    "encoder": "enc", "actor encoder": "enc", "critic encoder": "enc",
    "policy head": "pi", "value head": "vf", "other": "other",
}

# Scoped by the container's unique id ("#ID"), which also outranks the notebook's own
# table and pre styles. `hidden` on the card + `display:none` on the fallback below is
# scikit-learn's trick: without this stylesheet only the text fallback is visible.
_CSS = """
#ID{font-family:var(--jp-ui-font-family,-apple-system,"Segoe UI",Roboto,sans-serif);font-size:13px;line-height:1.35;color:var(--jp-content-font-color1,inherit)}
#ID .rlkit-fallback{display:none}
#ID .rlkit-card{display:block!important;width:fit-content;max-width:100%;box-sizing:border-box;border:1px solid var(--jp-border-color1,#c9ced6);border-radius:6px;padding:8px 10px;margin:2px 0}
#ID .rlkit-card .rlkit-card{margin:4px 0}
#ID .rlkit-title{font-weight:600;font-size:14px}
#ID .rlkit-badge{display:inline-block;margin-left:6px;padding:0 6px;border-radius:8px;font-size:11px;font-weight:400;border:1px solid var(--jp-border-color1,#c9ced6);color:var(--jp-content-font-color2,#57606a)}
#ID .rlkit-badge.rlkit-hot{border-color:#d97706;color:#b45309}
#ID .rlkit-meta{color:var(--jp-content-font-color2,#57606a);margin:2px 0 8px;font-size:12px}
#ID .rlkit-flow{display:flex;align-items:center;gap:8px;flex-wrap:wrap;margin:4px 0}
#ID .rlkit-col{display:flex;flex-direction:column;gap:6px}
#ID .rlkit-colhead{font-size:10px;text-transform:uppercase;letter-spacing:.06em;color:var(--jp-content-font-color2,#57606a)}
#ID .rlkit-arrow{font-size:18px;color:var(--jp-content-font-color2,#8c959f)}
#ID .rlkit-par{font-size:11px;text-align:center;color:var(--jp-content-font-color2,#8c959f);line-height:1}
#ID .rlkit-node{border:1px solid var(--jp-border-color2,#d8dee4);border-left:4px solid var(--rk-c,#9d9d9d);border-radius:4px;padding:3px 7px;background:rgba(127,127,127,.06);min-width:150px;max-width:560px}
#ID .rlkit-enc{--rk-c:#4c78a8}#ID .rlkit-pi{--rk-c:#f58518}#ID .rlkit-vf{--rk-c:#54a24b}
#ID .rlkit-obs{--rk-c:#b279a2}#ID .rlkit-out{--rk-c:#72b7b2}#ID .rlkit-other{--rk-c:#9d9d9d}
#ID .rlkit-role{font-size:10px;text-transform:uppercase;letter-spacing:.05em;color:var(--rk-c)}
#ID .rlkit-kind,#ID .rlkit-sub{color:var(--jp-content-font-color2,#57606a);font-size:12px}
#ID .rlkit-shape{font-family:var(--jp-code-font-family,monospace);font-size:12px}
#ID input.rlkit-toggle{display:none}
#ID label.rlkit-label{cursor:pointer;display:block;user-select:none}
#ID label.rlkit-label:before{content:"\\25B8 ";color:var(--jp-content-font-color2,#8c959f)}
#ID input.rlkit-toggle:checked+label.rlkit-label:before{content:"\\25BE "}
#ID .rlkit-body{display:none;margin-top:3px;overflow-x:auto}
#ID input.rlkit-toggle:checked+label+.rlkit-body{display:block}
#ID .rlkit-section{margin-top:6px}
#ID pre{margin:3px 0;padding:4px;font-size:11px;white-space:pre;overflow:auto;max-height:360px;background:rgba(127,127,127,.08);border-radius:3px}
#ID table{border-collapse:collapse;font-size:12px;margin:3px 0}
#ID th,#ID td{text-align:left;padding:1px 10px 1px 0;border:none;white-space:nowrap;vertical-align:top}
#ID th{font-weight:600;border-bottom:1px solid var(--jp-border-color1,#c9ced6)}
#ID td.rlkit-num,#ID th.rlkit-num{text-align:right}
#ID tr:nth-child(even) td{background:rgba(127,127,127,.05)}
#ID .rlkit-note{font-size:12px;margin:2px 0}
#ID .rlkit-warn{border-left:4px solid #d62728;padding:2px 8px;margin:4px 0;background:rgba(214,39,40,.07);white-space:pre-wrap}
#ID .rlkit-ok{color:#1a7f37}#ID .rlkit-bad{color:#cf222e}
"""


def new_uid(prefix: str = "rlkit") -> str:
    """A fresh element id, unique per rendering (``rlkit-1f2e3d4c5b6a``)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class _Ids:
    """Hands out the unique ids of one rendering: ``<root>-1``, ``<root>-2``, ..."""

    def __init__(self) -> None:
        self.root = new_uid()
        self._n = itertools.count(1)

    def next(self) -> str:
        return f"{self.root}-{next(self._n)}"


def _fmt(n: int) -> str:
    return f"{n:,}"


def _collapsible(ids: _Ids, label_html: str, body_html: str, *, open_: bool = False, cls: str = "") -> str:
    """A CSS-only collapsible block: a hidden checkbox, its label (the title) and a body."""
    uid = ids.next()
    checked = " checked" if open_ else ""
    return (
        f'<div class="rlkit-section {cls}"><input type="checkbox" class="rlkit-toggle" id="{uid}"{checked}>'
        f'<label class="rlkit-label" for="{uid}">{label_html}</label>'
        f'<div class="rlkit-body">{body_html}</div></div>'
    )


def html_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = (),
               raw: Sequence[int] = ()) -> str:
    """A small HTML table. Cells are escaped, except in the columns listed in ``raw`` (already
    HTML, e.g. :func:`ok_mark`); columns listed in ``numeric`` are right-aligned."""
    def cell(tag: str, i: int, v: Any) -> str:
        cls = ' class="rlkit-num"' if i in numeric else ""
        return f"<{tag}{cls}>{v if (i in raw and tag == 'td') else _e(str(v))}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def ok_mark(ok: bool) -> str:
    """A green check mark or a red cross (plain text glyphs: no emoji font needed)."""
    return '<span class="rlkit-ok">&#10003;</span>' if ok else '<span class="rlkit-bad">&#10007;</span>'


def html_block(inner_html: str, text: str, *, uid: str | None = None, cls: str = "") -> str:
    """Wrap rendered HTML in rlkit's styled container with a plain-text fallback.

    Shared by every rlkit HTML repr (modules, specs, check reports, checkpoint summaries) so
    they look alike; ``inner_html`` must already be escaped. ``uid`` scopes the styles.
    """
    uid = uid or new_uid()
    css = _CSS.replace("#ID", f"#{uid}")
    return (
        f'<div id="{uid}" class="rlkit-repr {cls}"><style>{css}</style>'
        f'<div class="rlkit-fallback"><pre>{_e(text)}</pre></div>'
        f'<div class="rlkit-card" hidden>{inner_html}</div></div>'
    )


# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------


def _badges(a: Anatomy) -> str:
    out = [f'<span class="rlkit-badge">{_fmt(a.n_params)} params</span>']
    if a.n_trainable != a.n_params:
        out.append(f'<span class="rlkit-badge">{_fmt(a.n_trainable)} trainable</span>')
    out.append('<span class="rlkit-badge rlkit-hot">inference-only</span>' if a.inference_only
               else '<span class="rlkit-badge">inference_only=False</span>')
    if a.stateful:
        out.append('<span class="rlkit-badge">recurrent</span>')
    if a.status:
        out.append(f'<span class="rlkit-badge">{_e(a.status)}</span>')
    return "".join(out)


def _part_node(ids: _Ids, p: Part, role_note: str = "") -> str:
    role = p.role + (f" · {role_note}" if role_note else "") + ("" if p.inference else " · critic-only")
    label = (
        f'<span class="rlkit-role">{_e(role)}</span><br><b>{_e(p.name)}</b> '
        f'<span class="rlkit-kind">{_e(p.kind)}</span><br>'
        f'<span class="rlkit-shape">{_e(p.out_shape or "not run")}</span> '
        f'<span class="rlkit-sub">· {_fmt(p.n_params)} params</span>'
    )
    body = f"<pre>{_e(p.text)}</pre>"
    return f'<div class="rlkit-node rlkit-{_ROLE_CLASS[p.role]}">{_collapsible(ids, label, body)}</div>'


def _simple_node(cls: str, role: str, name: str, shape: str = "", sub: str = "") -> str:
    return (
        f'<div class="rlkit-node rlkit-{cls}"><span class="rlkit-role">{_e(role)}</span><br>'
        f'<b>{_e(name)}</b> <span class="rlkit-shape">{_e(shape)}</span>'
        + (f'<br><span class="rlkit-sub">{_e(sub)}</span>' if sub else "") + "</div>"
    )


def _chain(ids: _Ids, parts: list[Part], note: dict[str, str]) -> str:
    """Parts that run one after the other, left to right."""
    arrow = '<div class="rlkit-arrow">&#8594;</div>'
    return f'<div class="rlkit-flow">{arrow.join(_part_node(ids, p, note.get(p.name, "")) for p in parts)}</div>'


def _diagram(ids: _Ids, a: Anatomy) -> str:
    """observation -> shared encoder(s) -> heads (policy || value) -> outputs; separate actor and
    critic encoders are drawn as two lanes, each ending in its head."""
    trunk = [p for p in a.parts if p.role == "encoder" or (p.role == "other" and p.reads_obs)]
    actor = [p for p in a.parts if p.role == "actor encoder"]
    critic = [p for p in a.parts if p.role == "critic encoder"]
    heads = [p for p in a.parts if p not in trunk and p not in actor and p not in critic]
    heads.sort(key=lambda p: ("policy head", "value head", "other").index(p.role))
    both = {"policy head", "value head"} <= {q.role for q in heads}
    note = {p.name: "shared" for p in trunk if p.role == "encoder" and both}
    cols = []
    space_short = a.observation_space if len(a.observation_space) <= 60 else a.observation_space[:57] + "..."
    obs_nodes = [_simple_node("obs", "observation", path, shape) for path, shape in a.obs_shapes]
    if obs_nodes:
        cols.append(("observation", "".join(obs_nodes) + f'<span class="rlkit-sub">{_e(space_short)}</span>'))
    if trunk:
        cols.append(("encoder", _chain(ids, trunk, note)))
    if actor or critic:  # two lanes: actor encoders -> policy head, critic encoders -> value head
        lanes = []
        for lane_role, enc in (("policy head", actor), ("value head", critic)):
            lane = enc + [p for p in heads if p.role == lane_role]
            if lane:
                lanes.append(_chain(ids, lane, note))
        rest = [p for p in heads if p.role not in ("policy head", "value head")]
        lanes += [_chain(ids, [p], note) for p in rest]
        cols.append(("actor / critic", '<div class="rlkit-par">&#8741;</div>'.join(lanes)))
    elif heads:
        nodes = []
        for i, p in enumerate(heads):
            if i:
                nodes.append('<div class="rlkit-par">&#8741;</div>')  # the parallel sign between heads
            nodes.append(_part_node(ids, p))
        cols.append(("heads", "".join(nodes)))
    if a.outputs:
        outs = []
        for key, shape in a.outputs.items():
            sub = (a.dist or "") if key == "action_dist_inputs" else ""
            outs.append(_simple_node("out", "output", key, shape, sub))
        cols.append(("outputs", "".join(outs)))
    flow = '<div class="rlkit-arrow">&#8594;</div>'.join(
        f'<div class="rlkit-col"><div class="rlkit-colhead">{_e(title)}</div>{body}</div>' for title, body in cols
    )
    return f'<div class="rlkit-flow">{flow}</div>'


def _layer_table(a: Anatomy) -> str:
    rows = [
        ("\u2003" * (r.depth - 1) + r.name, r.kind, r.out_shape or "-", _fmt(r.n_params) if r.n_params else "",
         r.detail)
        for r in a.layers
    ]
    return html_table(["layer", "type", "output", "params", "details"], rows, numeric=(3,))


def _module_inner(ids: _Ids, module: Any, a: Anatomy, layers_open: bool = False) -> str:
    title = f'<span class="rlkit-title">{_e(a.module_class)}</span>{_badges(a)}'
    meta = (
        f'<div class="rlkit-meta">observation: {_e(a.observation_space)}<br>'
        f'action: {_e(a.action_space)}' + (f" &#8594; {_e(a.dist)}" if a.dist else "") + "</div>"
    )
    parts = [title, meta]
    if a.error:
        parts.append(f'<div class="rlkit-warn">The sample forward pass failed, so output shapes are '
                     f'missing: {_e(a.error)}</div>')
    parts.append(_diagram(ids, a))
    parts += [f'<div class="rlkit-note">{_e(n)}</div>' for n in a.shared]
    if a.inference_only:
        parts.append('<div class="rlkit-note">Inference-only: built without the critic-only parts.</div>')
    elif a.n_inference != a.n_params:
        parts.append(f'<div class="rlkit-note">An inference-only copy keeps {_fmt(a.n_inference)} of '
                     f'{_fmt(a.n_params)} parameters.</div>')
    parts.append(_collapsible(ids, f"Layers ({len(a.layers)})", _layer_table(a), open_=layers_open))
    parts.append(_collapsible(ids, "torch repr", f"<pre>{_e(repr(module))}</pre>"))
    return "".join(parts)


def module_text(module: Any, anatomy: Anatomy | None = None) -> str:
    """The plain-text summary shown where HTML is not available (and in terminals)."""
    from rlkit.multi_rl_module import MultiRLModule

    if isinstance(module, MultiRLModule):
        lines = [f"{type(module).__name__} with {len(module)} module(s): {', '.join(map(str, module))}"]
        lines += [f"  note: {n}" for n in _cross_module_sharing(module)]
        for mid, sub in module.items():
            lines.append(f"[{mid}]")
            lines += ["  " + line for line in module_text(sub).splitlines()]
        return "\n".join(lines)
    a = anatomy or module_anatomy(module)
    flags = [f"{_fmt(a.n_params)} parameters", f"inference_only={a.inference_only}"]
    if a.stateful:
        flags.append("recurrent")
    if a.status:
        flags.append(a.status)
    lines = [f"{a.module_class} ({', '.join(flags)})",
             f"  observation: {a.observation_space}",
             f"  action:      {a.action_space}" + (f" -> {a.dist}" if a.dist else "")]
    width = max((len(p.name) for p in a.parts), default=0)
    for p in a.parts:
        arrow = f" -> {', '.join(p.feeds)}" if p.feeds else ""
        lines.append(f"  {p.role:<14} {p.name:<{width}}  {p.kind}  {p.out_shape or '-'}  "
                     f"{_fmt(p.n_params)} params{arrow}")
    if a.outputs:
        lines.append("  outputs:     " + ", ".join(f"{k} {v}" for k, v in a.outputs.items()))
    lines += [f"  note: {n}" for n in a.shared]
    if a.error:
        lines.append(f"  sample forward pass failed: {a.error}")
    return "\n".join(lines)


def module_html(module: Any, *, anatomy: Anatomy | None = None, layers_open: bool = False) -> str:
    """The HTML diagram of one ``RLModule``; ``layers_open`` unfolds the layer table.

    For a ``MultiRLModule`` this is :func:`module_mimebundle`'s HTML.
    """
    from rlkit.multi_rl_module import MultiRLModule

    if isinstance(module, MultiRLModule):
        return module_mimebundle(module)["text/html"]
    ids = _Ids()
    a = anatomy or module_anatomy(module)
    return html_block(_module_inner(ids, module, a, layers_open), module_text(module, a), uid=ids.root)


def module_mimebundle(module: Any) -> dict[str, str]:
    """``{"text/plain", "text/html"}`` for an ``RLModule`` or a ``MultiRLModule``."""
    from rlkit.multi_rl_module import MultiRLModule

    ids = _Ids()
    if isinstance(module, MultiRLModule):
        text = module_text(module)
        inner = [f'<span class="rlkit-title">{_e(type(module).__name__)}</span>'
                 f'<span class="rlkit-badge">{len(module)} module(s)</span>'
                 f'<span class="rlkit-badge">{_fmt(sum(p.numel() for p in module.parameters()))} params</span>']
        for note in _cross_module_sharing(module):
            inner.append(f'<div class="rlkit-note">{_e(note)}</div>')
        for i, (mid, sub) in enumerate(module.items()):
            a = module_anatomy(sub)
            label = f"<b>{_e(str(mid))}</b> <span class='rlkit-kind'>{_e(a.module_class)} · {_fmt(a.n_params)} params</span>"
            inner.append(_collapsible(ids, label, f'<div class="rlkit-card">{_module_inner(ids, sub, a)}</div>', open_=i == 0))
        return {"text/plain": text, "text/html": html_block("".join(inner), text, uid=ids.root)}
    a = module_anatomy(module)
    text = module_text(module, a)
    return {"text/plain": text, "text/html": html_block(_module_inner(ids, module, a), text, uid=ids.root)}


def _cross_module_sharing(multi: Any) -> list[str]:
    owners: dict[int, list[str]] = {}
    for mid, sub in multi.items():
        for p in sub.parameters():
            owners.setdefault(id(p), []).append(str(mid))
    pairs = sorted({tuple(v) for v in owners.values() if len(v) > 1})
    return [f"Modules {', '.join(repr(m) for m in pair)} share parameters." for pair in pairs]


# --------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------


def _config_rows(spec: Any) -> list[tuple[str, str]]:
    from rlkit.rl_module_spec import config_to_json

    cfg = spec.model_config
    if cfg is None:
        return []
    try:
        data = config_to_json(cfg)
    except ValueError:
        return [("(config)", repr(cfg))]
    if dataclasses.is_dataclass(cfg):  # show what differs from the dataclass defaults
        default = config_to_json(type(cfg)())
        data = {k: v for k, v in data.items() if default.get(k) != v}
    return [(str(k), repr(v)) for k, v in data.items()]


def _spec_text(spec: Any) -> str:
    cls = spec.module_class.__name__ if spec.module_class else "DefaultActorCritic (default)"
    lines = [f"RLModuleSpec -> {cls}",
             f"  observation_space: {spec.observation_space}",
             f"  action_space:      {spec.action_space}",
             f"  inference_only:    {spec.inference_only}"]
    rows = _config_rows(spec)
    lines.append("  model_config:      " + (", ".join(f"{k}={v}" for k, v in rows) if rows else
                                          "{}" if spec.model_config is not None else "None (defaults)"))
    return "\n".join(lines)


def _spec_inner(ids: _Ids, spec: Any) -> str:
    import torch

    from rlkit.import_path import class_to_path

    cls = spec.module_class.__name__ if spec.module_class else "DefaultActorCritic"
    title = (f'<span class="rlkit-title">RLModuleSpec &#8594; {_e(cls)}</span>'
             + ('<span class="rlkit-badge">default module</span>' if spec.module_class is None else "")
             + ('<span class="rlkit-badge rlkit-hot">inference-only</span>' if spec.inference_only else ""))
    fields = [("module_class", class_to_path(spec.module_class) if spec.module_class else "None (rlkit's default actor-critic)"),
              ("observation_space", repr(spec.observation_space)), ("action_space", repr(spec.action_space)),
              ("inference_only", repr(spec.inference_only))]
    rows = _config_rows(spec)
    body = [title, html_table(["field", "value"], fields)]
    if rows:
        body.append('<div class="rlkit-colhead">model_config</div>' + html_table(["entry", "value"], rows))
    if spec.observation_space is None or spec.action_space is None:
        body.append('<div class="rlkit-note">Spaces are filled in later (e.g. from the env), so there is '
                    'no architecture to show yet.</div>')
        return "".join(body)
    try:
        with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the user's RNG alone
            module = spec.build()
    except Exception as err:  # an invalid spec is shown, not raised, by a repr
        body.append(f'<div class="rlkit-warn">build() fails: {_e(type(err).__name__)}: {_e(str(err))}</div>')
        return "".join(body)
    body.append(_collapsible(ids, "Architecture it builds",
                             f'<div class="rlkit-card">{_module_inner(ids, module, module_anatomy(module))}</div>',
                             open_=True))
    return "".join(body)


def spec_mimebundle(spec: Any) -> dict[str, str]:
    """``{"text/plain", "text/html"}`` for an ``RLModuleSpec`` or a ``MultiRLModuleSpec``."""
    from rlkit.multi_rl_module import MultiRLModuleSpec

    ids = _Ids()
    if isinstance(spec, MultiRLModuleSpec):
        text = "\n".join([f"MultiRLModuleSpec with {len(spec.rl_module_specs)} module(s)"] + [
            f"[{mid}]\n" + "\n".join("  " + line for line in _spec_text(s).splitlines())
            for mid, s in spec.rl_module_specs.items()
        ])
        inner = [f'<span class="rlkit-title">MultiRLModuleSpec</span>'
                 f'<span class="rlkit-badge">{len(spec.rl_module_specs)} module(s)</span>']
        for i, (mid, s) in enumerate(spec.rl_module_specs.items()):
            inner.append(_collapsible(ids, f"<b>{_e(str(mid))}</b>", f'<div class="rlkit-card">{_spec_inner(ids, s)}</div>',
                                      open_=i == 0))
        return {"text/plain": text, "text/html": html_block("".join(inner), text, uid=ids.root)}
    text = _spec_text(spec)
    return {"text/plain": text, "text/html": html_block(_spec_inner(ids, spec), text, uid=ids.root)}
