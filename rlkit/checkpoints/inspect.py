"""``inspect_checkpoint``: what a checkpoint holds, read from its JSON and safetensors
header without building (or importing) the module; readable as text and in a notebook."""

from __future__ import annotations

import dataclasses
import html
import os
from pathlib import Path
from typing import Any

from rlkit.checkpoints.errors import CheckpointError
from rlkit.checkpoints.format import WEIGHTS_FILE, inside_checkpoint, read_record
from rlkit.checkpoints.weights import read_weights, read_weights_header

__all__ = ["CheckpointSummary", "inspect_checkpoint"]


@dataclasses.dataclass(repr=False)
class CheckpointSummary:
    """A checkpoint's description. Shows as a table in notebooks, as text elsewhere.

    ``tensors`` maps each weight name to ``(dtype, shape)``; ``modules`` holds one summary
    per module id for a MultiRLModule checkpoint; ``integrity`` says whether the files
    match the hashes recorded at save time.
    """

    path: str
    kind: str
    module_class: str | None
    observation_space: Any = None
    action_space: Any = None
    model_config: Any = None
    inference_only: bool = False
    parameter_count: int = 0
    num_tensors: int = 0
    tensors: dict[str, tuple[str, tuple[int, ...]]] = dataclasses.field(default_factory=dict)
    size_bytes: int = 0
    format_version: int = 0
    rlkit_version: str = ""
    torch_version: str = ""
    created: str = ""
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)
    integrity: str = "not checked"
    notes: list[str] = dataclasses.field(default_factory=list)
    modules: dict[str, CheckpointSummary] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (spaces as their ``repr``)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        for key in ("observation_space", "action_space"):
            out[key] = None if out[key] is None else str(out[key])
        out["modules"] = {mid: s.to_dict() for mid, s in self.modules.items()}
        return out

    # ---------------------------------------------------------------- text

    def _rows(self, sub: bool = False) -> list[tuple[str, str]]:
        rows = [("class", str(self.module_class))] if sub else [("kind", self.kind), ("class", str(self.module_class))]
        if self.kind != "multi_rl_module":
            rows += [
                ("observation_space", str(self.observation_space)),
                ("action_space", str(self.action_space)),
                ("model_config", repr(self.model_config) if self.model_config else "defaults"),
                ("inference_only", str(self.inference_only)),
            ]
        rows += [
            ("parameters", f"{self.parameter_count:,} in {self.num_tensors} tensors"),
            ("size", _human_bytes(self.size_bytes)),
        ]
        if not sub:  # a MultiRLModule's modules share its creation time and versions
            rows += [
                ("created", self.created),
                ("versions", f"format {self.format_version}, rlkit {self.rlkit_version}, torch {self.torch_version}"),
            ]
        rows.append(("integrity", self.integrity))
        if self.metadata:
            rows.append(("metadata", repr(self.metadata)))
        return rows

    def __repr__(self) -> str:
        lines = [f"CheckpointSummary({self.path})"]
        lines += [f"  {k:<18} {v}" for k, v in self._rows()]
        for mid, sub in self.modules.items():
            lines.append(f"  module {mid!r}:")
            lines += [f"    {k:<18} {v}" for k, v in sub._rows(sub=True)]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    # ---------------------------------------------------------------- notebook

    def _html_table(self, sub: bool = False) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left;padding-right:1em'>{html.escape(k)}</th>"
            f"<td style='text-align:left'><code>{html.escape(' '.join(v.split()))}</code></td></tr>"
            for k, v in self._rows(sub)  # numpy pads Box bounds with runs of spaces: collapse them
        )
        tensor_rows = "".join(
            f"<tr><td style='text-align:left'><code>{html.escape(name)}</code></td>"
            f"<td>{html.escape(dtype)}</td><td>{html.escape(str(list(shape)))}</td></tr>"
            for name, (dtype, shape) in self.tensors.items()
        )
        tensors = (
            f"<details><summary>{self.num_tensors} tensors</summary><table>"
            f"<tr><th>name</th><th>dtype</th><th>shape</th></tr>{tensor_rows}</table></details>"
            if self.tensors
            else ""
        )
        return f"<table>{rows}</table>{tensors}"

    def _repr_html_(self) -> str:
        subs = "".join(
            f"<details style='margin-left:1em'><summary>module <b>{html.escape(mid)}</b>: "
            f"{html.escape(str(sub.module_class))}</summary>{sub._html_table(sub=True)}</details>"
            for mid, sub in self.modules.items()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        return (
            "<div class='rlkit-checkpoint' style='font-family:var(--jp-ui-font-family,sans-serif)'>"
            f"<b>rlkit checkpoint</b> <code>{html.escape(self.path)}</code>"
            f"{self._html_table()}{subs}"
            f"{f'<ul>{notes}</ul>' if notes else ''}</div>"
        )

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _folder_size(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, name))
            except OSError:
                pass
    return total


def _space(data: Any) -> Any:
    if not data:
        return None
    from rlkit.spaces import space_from_dict

    try:
        return space_from_dict(data)
    except Exception:  # an unknown space: show the stored description
        return data


def _summarise(folder: Path, record: dict[str, Any], verify: bool) -> CheckpointSummary:
    spec = record.get("spec") if isinstance(record.get("spec"), dict) else {}
    summary = CheckpointSummary(
        path=str(folder),
        kind=str(record.get("kind")),
        module_class=record.get("module_class"),
        observation_space=_space(spec.get("observation_space")),
        action_space=_space(spec.get("action_space")),
        model_config=spec.get("model_config"),
        inference_only=bool(spec.get("inference_only", False)),
        parameter_count=int(record.get("parameter_count") or 0),
        size_bytes=_folder_size(folder),
        format_version=int(record.get("format_version", 0)),
        rlkit_version=str(record.get("rlkit_version", "?")),
        torch_version=str(record.get("torch_version", "?")),
        created=str(record.get("created", "?")),
        metadata=dict(record.get("metadata") or {}),
    )
    weights = record.get("weights")
    if isinstance(weights, dict):
        try:
            header = read_weights_header(folder / WEIGHTS_FILE)
            summary.tensors = {
                k: (str(v.get("dtype")), tuple(v.get("shape", ()))) for k, v in header.items() if k != "__metadata__"
            }
            summary.num_tensors = len(summary.tensors)
            if verify:
                read_weights(folder / WEIGHTS_FILE, weights, verify="sha256")
                summary.integrity = "ok (sha256 verified)"
        except CheckpointError as err:
            summary.integrity = f"PROBLEM: {err}"
    cls = str(summary.module_class or "")
    if cls.startswith("__main__:") or "<locals>" in cls:
        name = cls.rpartition(":")[2].rpartition(".")[2]
        summary.notes.append(
            f"{name} was defined in a notebook or script; load with from_checkpoint(path, module_class={name})."
        )
    if summary.inference_only:
        summary.notes.append("inference-only: it holds no weights for the training-only parts (value function).")
    return summary


def inspect_checkpoint(path: str | os.PathLike, *, verify: bool = True) -> CheckpointSummary:
    """Describe the checkpoint at ``path`` without building, or importing, its module.

    Reads ``rlkit_checkpoint.json`` and the safetensors header; with ``verify=True`` also
    checks every weights file against its recorded sha256 (reported in ``integrity``,
    never raised, so a damaged checkpoint can still be inspected).

    Example:
        >>> import tempfile, gymnasium as gym
        >>> from rlkit import RLModuleSpec
        >>> module = RLModuleSpec(observation_space=gym.spaces.Box(-1, 1, (4,)),
        ...                       action_space=gym.spaces.Discrete(2)).build()
        >>> summary = inspect_checkpoint(module.save_to_path(tempfile.mkdtemp() + "/ckpt"))
        >>> summary.action_space, summary.parameter_count == sum(p.numel() for p in module.parameters())
        (Discrete(2), True)
        >>> summary.integrity
        'ok (sha256 verified)'
    """
    folder, record = read_record(path)
    summary = _summarise(folder, record, verify)
    modules = record.get("modules")
    if isinstance(modules, dict):
        for mid, rel in modules.items():
            sub_folder, sub_record = read_record(inside_checkpoint(folder, rel))
            summary.modules[mid] = _summarise(sub_folder, sub_record, verify)
        summary.num_tensors = sum(s.num_tensors for s in summary.modules.values())
        problems = [f"module {mid!r}: {s.integrity}" for mid, s in summary.modules.items() if s.integrity.startswith("PROBLEM")]
        summary.integrity = "; ".join(problems) if problems else ("ok (sha256 verified)" if verify else "not checked")
        summary.notes += [f"module {mid!r}: {n}" for mid, s in summary.modules.items() for n in s.notes]
    import rlkit

    if summary.rlkit_version not in ("?", rlkit.__version__):
        summary.notes.append(f"saved with rlkit {summary.rlkit_version}; this is rlkit {rlkit.__version__}.")
    return summary
