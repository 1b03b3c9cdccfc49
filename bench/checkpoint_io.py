"""Checkpoint save / load speed against ``torch.save`` / ``torch.load(weights_only=True)``.

Two default actor-critics (rlkit.models): a 2x256 MLP (Box(8,) -> Discrete(4)) and the CNN for
Atari frames (Box(0, 255, (84, 84, 4), uint8) -> Discrete(6)). For each, in one run and
interleaved, the median wall time of:

* save:    ``module.save_to_path(path)`` over an existing checkpoint (snapshot, safetensors,
           sha256 + crc32, fsync of files and folders, atomic swap, old copy removed)
           vs ``torch.save(module.state_dict(), file)`` over an existing file, which does not
           fsync; also against the durable equivalent (torch.save to a temp file, fsync,
           os.replace, fsync of the folder), and rlkit with ``atomic.FSYNC = False`` (still
           atomic against a killed process), to show what the disk's fsync latency costs;
* load:    ``load_checkpoint(path)["module_state"]`` (crc32-verified) vs
           ``torch.load(file, weights_only=True)``; also with ``verify="sha256"``;
* restore: ``module.restore_from_path(path)`` vs ``module.load_state_dict(torch.load(...))``;
* rebuild: ``RLModule.from_checkpoint(path)`` vs building the module + torch load + load_state_dict.

Targets (issue 4): load <= 1.5x torch, save <= 2x torch. Run: ``python bench/checkpoint_io.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import gymnasium as gym
import numpy as np
import torch

from rlkit import RLModule, RLModuleSpec
from rlkit.checkpoints import atomic, load_checkpoint

MODELS = {
    "mlp 2x256": RLModuleSpec(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (8,), np.float32),
        action_space=gym.spaces.Discrete(4),
        model_config={"fcnet_hiddens": [256, 256]},
    ),
    "cnn 84x84x4": RLModuleSpec(
        observation_space=gym.spaces.Box(0, 255, (84, 84, 4), np.uint8),
        action_space=gym.spaces.Discrete(6),
    ),
}


def median_times(cases: dict[str, Callable[[], object]], repeats: int, stat: str = "median") -> dict[str, float]:
    """Median (or minimum) seconds per case; the cases are interleaved so that drifts in
    the machine's load hit them alike."""
    for fn in cases.values():  # warm-up (imports, page cache, allocator)
        fn()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(repeats):
        for name, fn in cases.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    reduce = min if stat == "min" else statistics.median
    return {name: reduce(ts) for name, ts in samples.items()}


def bench_model(name: str, spec: RLModuleSpec, folder: Path, repeats: int, stat: str) -> list[tuple[str, float, float]]:
    torch.manual_seed(0)
    module = spec.build()
    ckpt, pt = folder / f"{name.split()[0]}_ckpt", folder / f"{name.split()[0]}.pt"
    module.save_to_path(ckpt)
    torch.save(module.state_dict(), pt)
    n_params = sum(p.numel() for p in module.parameters())
    size = (ckpt / "model.safetensors").stat().st_size
    print(f"\n{name}: {n_params:,} parameters, weights {size / 1e6:.2f} MB "
          f"(torch file {pt.stat().st_size / 1e6:.2f} MB)")

    def save_rlkit_no_fsync() -> None:
        atomic.FSYNC = False
        try:
            module.save_to_path(ckpt)
        finally:
            atomic.FSYNC = True

    def save_torch_durable() -> None:
        tmp = pt.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            torch.save(module.state_dict(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, pt)
        atomic.fsync_dir(folder)

    def rebuild_torch() -> RLModule:
        fresh = spec.build()
        fresh.load_state_dict(torch.load(pt, weights_only=True))
        return fresh

    t = median_times(
        {
            "save rlkit": lambda: module.save_to_path(ckpt),
            "save torch": lambda: torch.save(module.state_dict(), pt),
            "save rlkit no fsync": save_rlkit_no_fsync,
            "save torch durable": save_torch_durable,
            "load rlkit": lambda: load_checkpoint(ckpt)["module_state"],
            "load rlkit sha256": lambda: load_checkpoint(ckpt, verify="sha256")["module_state"],
            "load torch": lambda: torch.load(pt, weights_only=True),
            "restore rlkit": lambda: module.restore_from_path(ckpt),
            "restore torch": lambda: module.load_state_dict(torch.load(pt, weights_only=True)),
            "rebuild rlkit": lambda: RLModule.from_checkpoint(ckpt),
            "rebuild torch": rebuild_torch,
        },
        repeats,
        stat,
    )
    rows = [
        ("save", t["save rlkit"], t["save torch"]),
        ("save vs durable torch", t["save rlkit"], t["save torch durable"]),
        ("save, FSYNC=False", t["save rlkit no fsync"], t["save torch"]),
        ("load (crc32)", t["load rlkit"], t["load torch"]),
        ("load (sha256)", t["load rlkit sha256"], t["load torch"]),
        ("restore_from_path", t["restore rlkit"], t["restore torch"]),
        ("from_checkpoint", t["rebuild rlkit"], t["rebuild torch"]),
    ]
    print(f"  {'operation':<20}{'rlkit ms':>10}{'torch ms':>10}{'ratio':>8}")
    for op, ours, theirs in rows:
        print(f"  {op:<20}{ours * 1e3:>10.2f}{theirs * 1e3:>10.2f}{ours / theirs:>7.2f}x")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp folder)")
    parser.add_argument("--stat", choices=["median", "min"], default="median",
                        help="min is steadier on a machine shared with other jobs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, writing to {tmp}; "
              f"{args.stat} of {args.repeats} interleaved runs")
        results = {name: bench_model(name, spec, Path(tmp), args.repeats, args.stat) for name, spec in MODELS.items()}
    print("\ntargets: load <= 1.5x torch.load(weights_only=True), save <= 2x torch.save")
    for name, rows in results.items():
        by_op = {op: (ours, theirs) for op, ours, theirs in rows}
        verdicts = []
        for op, target in (("save", 2.0), ("save vs durable torch", 2.0), ("save, FSYNC=False", 2.0), ("load (crc32)", 1.5)):
            ours, theirs = by_op[op]
            verdicts.append(f"{op} {ours / theirs:.2f}x ({'ok' if ours <= target * theirs else 'ABOVE TARGET'})")
        print(f"  {name:<12} " + "; ".join(verdicts))


if __name__ == "__main__":
    main()
