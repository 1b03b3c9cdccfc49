"""The notebook layer: ipywidgets views of rollouts and modules (loaded only when used).

``import rlkit`` never imports this package; importing it stays cheap too, because each
widget's module (and with it ipywidgets and matplotlib) loads on first use of its name.

Example:
    >>> import rlkit.widgets
    >>> "RolloutViewer" in rlkit.widgets.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlkit.widgets.forward_explainer import ForwardExplainer
    from rlkit.widgets.module_composer import ModuleComposer
    from rlkit.widgets.rollout_viewer import RolloutViewer

# Public widget name -> the module that defines it. One line per widget; add new ones here.
_WIDGETS = {
    "RolloutViewer": "rlkit.widgets.rollout_viewer",
    "ModuleComposer": "rlkit.widgets.module_composer",
    "ForwardExplainer": "rlkit.widgets.forward_explainer",
}

__all__ = list(_WIDGETS)


def __getattr__(name: str) -> Any:
    if name in _WIDGETS:
        value = getattr(importlib.import_module(_WIDGETS[name]), name)
        globals()[name] = value  # later look-ups skip this hook
        return value
    raise AttributeError(f"module 'rlkit.widgets' has no attribute {name!r}; widgets here: {sorted(_WIDGETS)}.")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WIDGETS))
