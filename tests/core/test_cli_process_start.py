"""A command's process: SciPy imported with its docstrings as written, detect without the
garbage collector, with one BLAS thread unless the user chose, and without SciPy's sparse
matrices and rotations until they are used."""

import os
import subprocess
import sys

import numpy as np
import pytest

from napari_ivae.cli._scipy_docs import _AsWritten

# a fresh interpreter: the command line's own start (main() without argv), then SciPy's import
_PROBE = """
import sys
from napari_ivae.cli import main
sys.argv = ["napari-ivae", "detect", "--help"]
try:
    main()
except SystemExit:
    pass
import scipy.ndimage, scipy.spatial, scipy.fft
import scipy._lib._docscrape as docscrape
doc = scipy.ndimage.gaussian_filter.__doc__
print(docscrape.FunctionDoc.__name__, "Array API Standard Support" in doc, doc.startswith("Multi"))
print(scipy.ndimage.gaussian_filter([0.0, 1.0, 0.0], 1.0).round(6).tolist())
"""


def test_a_command_leaves_scipys_docstrings_as_written():
    out = (
        subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
        .stdout.strip()
        .splitlines()[-2:]
    )  # after the sub-command's help
    assert out[0].split() == ["_AsWritten", "False", "True"]
    # SciPy works as before
    from scipy import ndimage

    expected = ndimage.gaussian_filter(np.array([0.0, 1.0, 0.0]), 1.0).round(6).tolist()
    assert out[1] == str(expected)


def test_the_stand_in_gives_the_docstring_back_through_scipys_decorators():
    def documented():
        """Summary.

        Parameters
        ----------
        x : int
        """

    doc = _AsWritten(documented)
    doc["Notes"].append("a note")  # as xp_capabilities does
    doc["Extended Summary"] += ["more"]  # as deprecate_positional_args does
    assert [p.name for p in doc["Parameters"]] == []  # as _rename_parameter reads it
    assert str(doc).split("\n", 1)[1].lstrip(" \n") == documented.__doc__.lstrip(" \n")


def test_detect_runs_without_the_garbage_collector_other_commands_with_it():
    probe = (
        "import gc, sys\n"
        "from napari_ivae.cli import main\n"
        "sys.argv = ['napari-ivae', sys.argv[1], '--help']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(gc.isenabled())\n"
    )
    for command, enabled in (("detect", "False"), ("batch", "True")):
        out = subprocess.run(
            [sys.executable, "-c", probe, command], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip().splitlines()[-1] == enabled


def test_what_else_scipy_asks_of_its_parser_the_real_parser_answers(monkeypatch):
    from scipy._lib._docscrape import FunctionDoc

    def documented():
        """Summary."""

    doc = _AsWritten(documented)
    with pytest.raises(AttributeError):  # no parser known: nothing to ask
        doc.get_func()
    monkeypatch.setattr(_AsWritten, "parser", FunctionDoc)
    assert doc.get_func()[0] is documented


# a process that has started `napari-ivae detect` (its --help), then runs the probe's lines
_AFTER_DETECT_STARTS = (
    "import sys\n"
    "from napari_ivae.cli import main\n"
    "sys.argv = ['napari-ivae', 'detect', '--help']\n"
    "try:\n"
    "    main()\n"
    "except SystemExit:\n"
    "    pass\n"
)


def test_numpys_developer_tools_load_only_when_used_in_detect():
    probe = _AFTER_DETECT_STARTS + (
        "import numpy, scipy.ndimage, scipy.spatial\n"
        "print('numpy.f2py.f2py2e' in sys.modules, 'unittest' in sys.modules)\n"
        "numpy.testing.assert_array_equal([1, 2], [1, 2])\n"
        "print(callable(numpy.f2py.run_main), 'unittest' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-4:] == ["False", "False", "True", "True"]


_THREADS_PROBE = """
import os, sys
from napari_ivae.cli import main
sys.argv = ["napari-ivae", sys.argv[1], "--help"]
try:
    main()
except SystemExit:
    pass
print([os.environ.get(name) for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")])
"""


def _thread_variables(command, **environ):
    from napari_ivae.cli._threads import THREAD_VARIABLES

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES} | environ
    out = subprocess.run(
        [sys.executable, "-c", _THREADS_PROBE, command],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return out.stdout.strip().splitlines()[-1]


def test_detect_asks_for_one_blas_thread_unless_the_user_chose():
    assert _thread_variables("detect") == "['1', '1']"
    assert _thread_variables("detect", OMP_NUM_THREADS="3") == "['3', None]"
    assert _thread_variables("batch") == "[None, None]"


def test_one_blas_thread_leaves_a_users_setting():
    from napari_ivae.cli._threads import THREAD_VARIABLES, one_blas_thread

    environ = {}
    assert one_blas_thread(environ) == list(THREAD_VARIABLES)
    assert environ == dict.fromkeys(THREAD_VARIABLES, "1")
    environ = {"OPENBLAS_NUM_THREADS": "4"}
    assert one_blas_thread(environ) == []
    assert environ == {"OPENBLAS_NUM_THREADS": "4"}


def test_scipys_sparse_matrices_and_rotations_load_only_when_used_in_detect():
    probe = _AFTER_DETECT_STARTS + (
        "import scipy.spatial\n"
        "print(scipy.spatial.cKDTree([[0.0, 0.0], [3.0, 4.0]]).query([0.0, 0.0], k=2)[0][1])\n"
        "print('scipy.sparse._base' in sys.modules, 'scipy.constants' in sys.modules)\n"
        "from scipy.sparse.csgraph import connected_components\n"
        "from scipy.spatial.transform import Rotation\n"
        "graph = scipy.sparse.coo_matrix(([1], ([0], [1])), shape=(3, 3))\n"
        "print(connected_components(graph)[0], Rotation.identity().as_quat()[3])\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-5:] == ["5.0", "False", "False", "2", "1.0"]
