"""SciPy's docstrings kept as written in a command's process, not rewritten at import.

Importing ``scipy.ndimage``, ``scipy.special`` or ``scipy.linalg`` rewrites the docstrings of
about 350 of their functions: each is parsed by ``scipy._lib._docscrape.FunctionDoc``, a note
added (the array libraries it supports, how it broadcasts) and the text written back. That is
0.15-0.3 s of CPU at every ``napari-ivae detect``, for docstrings no command prints.
:func:`keep_scipy_docstrings` makes that parser, once SciPy imports it, hand each docstring back
unchanged: every section reads empty, so the decorators add their note to nothing and write the
original text back. Only ``__doc__`` strings differ; no function's behaviour depends on them.
"""

from __future__ import annotations

import sys
from importlib.machinery import PathFinder

PARSER = "scipy._lib._docscrape"


class _AsWritten:
    """Stands in for ``FunctionDoc``: sections read empty, the text is the docstring itself.

    SciPy's decorators take ``str(doc)`` without its first line (the signature the parser
    puts there): the leading newline makes that the docstring as written. Anything else a
    later SciPy may ask of the parser is answered by the real one (``parser``).
    """

    parser: type | None = None  # SciPy's FunctionDoc, set when it is replaced

    def __init__(self, func=None, role="func", doc=None, config=None):
        self._arguments = (func, role, doc, config)
        self._doc = (getattr(func, "__doc__", None) if doc is None else doc) or ""
        self._sections: dict = {}

    def __getattr__(self, name):
        if name.startswith("_") or self.parser is None:
            raise AttributeError(name)
        return getattr(self.parser(*self._arguments), name)

    def __getitem__(self, key):
        return self._sections.setdefault(key, [])

    def __setitem__(self, key, value):
        self._sections[key] = value

    def __str__(self) -> str:
        return "\n" + self._doc


class _Finder:
    """A meta path finder for SciPy's docstring parser only; gone once it found it."""

    def find_spec(self, name, path=None, target=None):  # noqa: D102 - importlib's hook
        if name != PARSER:
            return None
        _remove()
        spec = PathFinder.find_spec(name, path, target)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module):
            run(module)
            if isinstance(getattr(module, "FunctionDoc", None), type):
                _AsWritten.parser = module.FunctionDoc
                module.FunctionDoc = _AsWritten

        loader.exec_module = exec_module
        return spec


_FINDER = _Finder()


def _remove() -> None:
    if _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def keep_scipy_docstrings() -> bool:
    """For the rest of the process, SciPy's import leaves its docstrings as written.

    Returns
    -------
    bool
        Whether it will (False when SciPy's parser was imported already: nothing changed).
    """
    if PARSER in sys.modules:
        return False
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    return True
