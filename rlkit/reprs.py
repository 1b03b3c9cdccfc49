"""Rich notebook representations of modules and specs (HTML + text/plain, no widgets)."""

from __future__ import annotations

from typing import Any

__all__ = ["module_mimebundle", "spec_mimebundle"]


def module_mimebundle(module: Any) -> dict[str, str]:
    return {"text/plain": repr(module)}


def spec_mimebundle(spec: Any) -> dict[str, str]:
    return {"text/plain": repr(spec)}
