"""Checks every microscope-file reader's tests share (a test helper, not product): damaged copies
of a file are read or refused in one line; ``detect`` on the file gives the table of the same
array saved as ``.npy``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_ivae.cli import main
from napari_ivae.core.errors import InputError
from napari_ivae.core.io.imageio import read_image, read_pixel_size


def fuzzed_outcomes(path, raw: bytes, rng, *, trials: int = 300, keep: int = 0, changed: int = 3):
    """Write ``trials`` damaged copies of ``raw`` to ``path`` (every other one cut short, the
    rest with ``changed`` bytes overwritten; the first ``keep`` bytes untouched), read each
    (pixels and pixel size; mapped on two trials of three) and return the outcomes seen:
    ``{"read", "refused"}`` where every refusal was one line naming the file."""
    outcomes = set()
    for trial in range(trials):
        damaged = bytearray(raw)
        if trial % 2:  # a few bytes changed anywhere
            for _ in range(changed):
                damaged[rng.integers(keep, len(damaged))] = rng.integers(256)
        else:  # cut short
            damaged = damaged[: rng.integers(keep, len(damaged))]
        path.write_bytes(bytes(damaged))
        try:
            np.asarray(read_image(path, mmap=bool(trial % 3)))
            read_pixel_size(path)
            outcomes.add("read")
        except InputError as err:
            assert "\n" not in str(err) and path.name in str(err)
            outcomes.add("refused")
    return outcomes


def detect_as_on_npy(tmp_path, capsys, written, lattice) -> str:
    """``napari-ivae detect`` on ``written`` (a file holding ``lattice``) gives the table it
    gives on ``lattice`` saved as ``.npy`` (more than 70 atoms); its stderr, whose lines on the
    ``.npy`` say no pixel size."""
    np.save(tmp_path / "lat.npy", lattice)
    assert main(["detect", str(tmp_path / "lat.npy"), "--out", str(tmp_path / "npy.csv")]) == 0
    assert "pixel size" not in capsys.readouterr().err
    assert main(["detect", str(written), "--out", str(tmp_path / "file.csv")]) == 0
    err = capsys.readouterr().err
    npy, other = pd.read_csv(tmp_path / "npy.csv"), pd.read_csv(tmp_path / "file.csv")
    assert len(other) > 70
    pd.testing.assert_frame_equal(npy, other)
    return err


def one_line_error(path) -> str:
    """The message ``read_image`` refuses ``path`` with: one line naming the file."""
    with pytest.raises(InputError) as caught:
        read_image(path)
    message = str(caught.value)
    assert "\n" not in message and path.name in message
    return message
