"""One BLAS thread in a command's process, unless the user's environment says how many.

NumPy and SciPy each load their own OpenBLAS, and each starts a thread per core when it loads:
0.05-0.1 s of CPU at every start on two cores (importing NumPy and ``scipy.linalg``), time
that a busy machine's other processes wait for. ``detect`` makes few BLAS calls, none large
enough for more threads to pay (19 real STEM, TEM and STM images gave the same points to the
byte with one thread).
:func:`one_blas_thread` asks for one thread through the environment variables OpenBLAS, MKL
and OpenMP read when they load, so it only acts before NumPy is imported; where the user set
any of them, every one is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_blas_thread(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Set :data:`THREAD_VARIABLES` to ``"1"`` unless any of them is set already.

    Parameters
    ----------
    environ : mapping, optional
        The environment to change (default: ``os.environ``, which child processes inherit).

    Returns
    -------
    list of str
        The variables set (none where the user chose a number of threads).
    """
    environ = os.environ if environ is None else environ
    if any(name in environ for name in THREAD_VARIABLES):
        return []
    for name in THREAD_VARIABLES:
        environ[name] = "1"
    return list(THREAD_VARIABLES)
