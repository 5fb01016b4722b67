"""SciPy subpackages that ``scipy.spatial`` imports, loaded only when used, in a command's process.

``scipy.spatial`` (``cKDTree``) imports ``scipy.sparse`` (its trees can return a sparse
distance matrix) and ``scipy.spatial.transform`` (rotations, with ``scipy.constants``) at its
own import: 0.03 s of CPU at every ``detect`` (half of ``scipy.spatial``'s), for what a
particle detection never uses.
:func:`defer_scipy_extras` makes each of :data:`EXTRAS`, when it is first imported, an
:class:`importlib.util.LazyLoader` module: the name exists, and the module runs at its first
attribute lookup (an atom detection that builds a sparse graph loads ``scipy.sparse`` then).
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.machinery import PathFinder

EXTRAS = ("scipy.sparse", "scipy.spatial.transform")


class _Finder:
    """A meta path finder for :data:`EXTRAS` only; gone once it found them all."""

    def __init__(self):
        self.waiting = set(EXTRAS)

    def find_spec(self, name, path=None, target=None):  # noqa: D102 - importlib's hook
        if name not in self.waiting:
            return None
        self.waiting.discard(name)
        if not self.waiting:
            _remove()
        spec = PathFinder.find_spec(name, path, target)
        if spec is None or getattr(spec.loader, "exec_module", None) is None:
            return spec
        spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


_FINDER = _Finder()


def _remove() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def defer_scipy_extras() -> list[str]:
    """Make :data:`EXTRAS` not yet imported load at their first use; their names.

    Returns
    -------
    list of str
        The subpackages that will be deferred (none that was imported already).
    """
    _FINDER.waiting = {name for name in EXTRAS if name not in sys.modules}
    if _FINDER.waiting and _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return sorted(_FINDER.waiting)
