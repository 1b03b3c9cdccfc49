"""Nested training state <-> (plain JSON, flat dict of tensors), so it is saved without pickle.

Optimiser states, RNG states and env states are nests of dicts, lists, tuples, numbers,
strings, tensors and numpy arrays. :func:`split_tree` replaces every tensor / array by a
reference ``{"__tensor__": key}`` and returns the tensors separately (they go into a
safetensors file, the rest into JSON); :func:`join_tree` puts them back.

Example:
    >>> import torch
    >>> tree, tensors = split_tree({"step": 3, "m": torch.ones(2), "betas": (0.9, 0.999)}, "opt")
    >>> tree
    {'step': 3, 'm': {'__tensor__': 'opt/m'}, 'betas': {'__tuple__': [0.9, 0.999]}}
    >>> join_tree(tree, tensors)["m"]
    tensor([1., 1.])
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import torch

__all__ = ["split_tree", "join_tree"]


def split_tree(tree: Any, prefix: str) -> tuple[Any, dict[str, torch.Tensor]]:
    """``(json_tree, {key: tensor})``; raises ``TypeError`` naming a value JSON cannot hold."""
    tensors: dict[str, torch.Tensor] = {}

    def walk(x: Any, path: str) -> Any:
        if isinstance(x, torch.Tensor):
            tensors[path] = x.detach().cpu().contiguous()
            return {"__tensor__": path}
        if isinstance(x, np.ndarray):
            kind = str(x.dtype)
            if x.dtype.kind in "uib" and x.dtype.itemsize <= 8 and kind != "uint64":
                tensors[path] = torch.from_numpy(np.ascontiguousarray(x).astype(np.int64 if x.dtype.kind == "u" else x.dtype))
            elif x.dtype.kind == "f":
                tensors[path] = torch.from_numpy(np.ascontiguousarray(x))
            elif x.dtype.kind == "S":  # byte strings (e.g. FrozenLake's map): as latin-1 text
                return {"__ndarray_bytes__": np.char.decode(x, "latin-1").tolist(), "dtype": kind}
            else:
                return {"__ndarray_list__": x.tolist(), "dtype": kind}
            return {"__ndarray__": path, "dtype": kind}
        if isinstance(x, np.generic):
            return {"__npscalar__": x.item(), "dtype": str(x.dtype)}
        if isinstance(x, Mapping):
            if not all(isinstance(k, (str, int)) for k in x):
                raise TypeError(f"{path}: dict keys must be str or int to be saved, got {list(x)[:5]}.")
            if all(isinstance(k, str) for k in x):
                return {"__dict__": {k: walk(v, f"{path}/{k}") for k, v in x.items()}}
            return {"__intdict__": [[k, walk(v, f"{path}/{k}")] for k, v in x.items()]}
        if isinstance(x, tuple):
            return {"__tuple__": [walk(v, f"{path}/{i}") for i, v in enumerate(x)]}
        if isinstance(x, list):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(x)]
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise TypeError(f"{path} is a {type(x).__name__}, which a checkpoint cannot store as data.")

    out = walk(tree, prefix)
    if isinstance(out, dict) and "__dict__" in out:
        out = out["__dict__"]  # the top level is a plain JSON object
    return out, tensors


def join_tree(tree: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tree` (the top level is a dict)."""

    def walk(x: Any) -> Any:
        if isinstance(x, list):
            return [walk(v) for v in x]
        if not isinstance(x, dict):
            return x
        if "__tensor__" in x:
            return tensors[x["__tensor__"]].clone()
        if "__ndarray__" in x:
            return tensors[x["__ndarray__"]].numpy().astype(x["dtype"])
        if "__ndarray_bytes__" in x:
            return np.char.encode(np.asarray(x["__ndarray_bytes__"], dtype=str), "latin-1").astype(x["dtype"])
        if "__ndarray_list__" in x:
            return np.asarray(x["__ndarray_list__"], dtype=x["dtype"])
        if "__npscalar__" in x:
            return np.dtype(x["dtype"]).type(x["__npscalar__"])
        if "__dict__" in x:
            return {k: walk(v) for k, v in x["__dict__"].items()}
        if "__intdict__" in x:
            return {int(k): walk(v) for k, v in x["__intdict__"]}
        if "__tuple__" in x:
            return tuple(walk(v) for v in x["__tuple__"])
        return {k: walk(v) for k, v in x.items()}

    return walk(tree)
