"""Classes as import paths (``"package.module:QualName"``) so specs stay plain JSON."""

from __future__ import annotations

import importlib
import sys

__all__ = ["ClassImportError", "class_to_path", "class_from_path"]


class ClassImportError(ImportError):
    """A class named by an import path cannot be imported."""


def class_to_path(cls: type) -> str:
    """``"package.module:QualName"`` for ``cls``.

    Example:
        >>> from collections import OrderedDict
        >>> class_to_path(OrderedDict)
        'collections:OrderedDict'
    """
    return f"{cls.__module__}:{cls.__qualname__}"


def class_from_path(path: str) -> type:
    """Import the class named by :func:`class_to_path`.

    Raises:
        ClassImportError: the module or the class cannot be found, with the likely cause
            (classes defined in a notebook or script live in ``__main__`` and cannot be
            imported from another process).
    """
    module_name, sep, qualname = path.partition(":")
    if not sep:  # also accept "package.module.Class"
        module_name, _, qualname = path.rpartition(".")
    if module_name == "__main__" and "<locals>" not in qualname:
        # The same notebook kernel or script that defined the class can still resolve it.
        obj = sys.modules.get("__main__")
        for part in qualname.split("."):
            obj = getattr(obj, part, None)
        if isinstance(obj, type):
            return obj
    if module_name == "__main__" or "<locals>" in qualname:
        where = "a notebook or script (module __main__)" if module_name == "__main__" else "a function body"
        raise ClassImportError(
            f"The class {path!r} was defined in {where}, so it cannot be imported by name. "
            f"Run the cell that defines {qualname.split('.')[-1]} and pass it explicitly "
            f"(module_class={qualname.split('.')[-1]}), or move it into an importable .py module."
        )
    try:
        obj = importlib.import_module(module_name)
    except ImportError as err:
        raise ClassImportError(
            f"Cannot import module {module_name!r} for class {path!r} ({err}). Install or put "
            f"that module on sys.path, or pass the class explicitly with module_class=..."
        ) from None
    for part in qualname.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ClassImportError(
                f"Module {module_name!r} has no class {qualname!r} (from {path!r}); it may have "
                f"been renamed or moved. Pass the class explicitly with module_class=..."
            ) from None
    if not isinstance(obj, type):
        raise ClassImportError(f"{path!r} names {type(obj).__name__} {obj!r}, not a class.")
    return obj
