"""NumPy's developer tools loaded only when used, in a command's process.

SciPy's array-API layer copies every public name of ``numpy`` into its own namespace, and
NumPy loads a lazily imported submodule at its name's first lookup: ``numpy.f2py`` (the Fortran
wrapper generator, hundreds of regular expressions compiled at import) and ``numpy.testing``
(with ``unittest``) are imported by every ``detect``, 0.1-0.2 s of CPU for tools no command
uses. :func:`defer_numpy_extras` puts them in place as :class:`importlib.util.LazyLoader`
modules: the name exists, and the module runs at its first attribute lookup.
"""

from __future__ import annotations

import importlib.util
import sys

EXTRAS = ("numpy.f2py", "numpy.testing")


def defer_numpy_extras() -> list[str]:
    """Make :data:`EXTRAS` load at their first use; the names of those now deferred.

    Returns
    -------
    list of str
        The submodules deferred (none that was imported already, or that cannot be found).
    """
    import numpy

    deferred = []
    for name in EXTRAS:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            continue
        spec.loader = importlib.util.LazyLoader(spec.loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        setattr(numpy, name.rsplit(".", 1)[1], module)
        deferred.append(name)
    return deferred
