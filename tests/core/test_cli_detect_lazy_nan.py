"""``napari-ivae detect`` on a lazy (zarr) stack with missing data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from napari_ivae.cli import main
from napari_ivae.core.synthetic.lattice import make_lattice


def test_detect_a_lazy_stack_with_nan_warns_once_with_the_total(tmp_path, capsys):
    """One warning line with every frame's missing pixels (1+2+3+4 rows of 4 px = 40), not one
    per frame (each frame's own count, '4 ... 8 ... 12 ... 16'); the atoms are those found
    in the same stack in memory."""
    import zarr

    stack = np.stack(
        [make_lattice((96, 96), spacing=10.0, noise=0.05, seed=s).image for s in range(4)]
    ).astype(np.float32)
    for frame in range(4):
        stack[frame, 5 : 6 + frame, 5:9] = np.nan
    np.save(tmp_path / "stack.npy", stack)
    lazy = zarr.open(
        str(tmp_path / "stack.zarr"), mode="w", shape=stack.shape, chunks=(1, 48, 48), dtype="f4"
    )
    lazy[:] = stack
    found = {}
    for name in ("stack.zarr", "stack.npy"):
        out = tmp_path / f"{name}.csv"
        assert main(["detect", str(tmp_path / name), "--frame-axis", "0", "--out", str(out)]) == 0
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if "NaN/inf" in line]
        assert lines == [
            "napari-ivae detect: warning: 40 NaN/inf pixels were replaced by the median of "
            "their frame."
        ], err
        found[name] = pd.read_csv(out)
    pd.testing.assert_frame_equal(found["stack.zarr"], found["stack.npy"])
