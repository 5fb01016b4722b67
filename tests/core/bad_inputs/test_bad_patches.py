"""Bad inputs to ``napari-ivae patches``: one clear line, exit 2, nothing changed (issue 12)."""

import numpy as np
import pytest
from bad_inputs_kit import assert_refused

from napari_ivae.cli import main

IMG = "{ws}/img.npy"
OUT = "{ws}/new.npz"

CASES = {
    # patches smaller than any model accepts are refused before cutting (was exit 0)
    "size-1": ([IMG, "--grid", "8", "--size", "1", "--out", OUT], ["--size 1", "at least 8"]),
    "size-7": ([IMG, "--grid", "8", "--size", "7", "--out", OUT], ["--size 7", "at least 8"]),
    "size-0": ([IMG, "--grid", "8", "--size", "0", "--out", OUT], ["--size 0"]),
    "size-negative": (
        [IMG, "--points", "{ws}/pts.csv", "--size", "-16", "--out", OUT],
        ["--size -16"],
    ),
    "grid-0": ([IMG, "--grid", "0", "--size", "8", "--out", OUT], ["--grid"]),
    "size-larger-than-image": ([IMG, "--grid", "8", "--size", "100", "--out", OUT], ["100"]),
    # the output-path policy
    "out-is-image-through-link": (
        [IMG, "--grid", "8", "--size", "8", "--out", "{ws}/link_to_img.npz"],
        ["--out", "IMAGE", "destroy"],
    ),
    "out-wrong-suffix": (
        [IMG, "--grid", "8", "--size", "8", "--out", "{ws}/a.npy"],
        ["--out", ".npz"],
    ),
    "out-missing-folder": (
        [IMG, "--grid", "8", "--size", "8", "--out", "{ws}/no/a.npz"],
        ["--out", "does not exist"],
    ),
    # points files
    "points-missing": (
        [IMG, "--points", "{ws}/none.csv", "--size", "8", "--out", OUT],
        ["not found"],
    ),
    "points-no-columns": (
        [IMG, "--points", "{ws}/nocols.csv", "--size", "8", "--out", OUT],
        ["no coordinate columns"],
    ),
    "points-not-numbers": (
        [IMG, "--points", "{ws}/words.csv", "--size", "8", "--out", OUT],
        ["non-numeric"],
    ),
    # a traceback before (scipy's KDTree, the spacing's crop): refused on reading
    "points-nan": (
        [IMG, "--points", "{ws}/nan_pts.csv", "--size", "8", "--out", OUT],
        ["2 point(s)", "NaN", "line 3"],
    ),
    # a 2D image has no frames to choose (was ignored, exit 0)
    "2d-with-frame-axis": (
        [IMG, "--grid", "8", "--size", "8", "--frame-axis", "0", "--out", OUT],
        ["--frame-axis 0", "2D"],
    ),
    "image-1d": (["{ws}/one_d.npy", "--grid", "8", "--size", "8", "--out", OUT], ["2D", "(100,)"]),
    "channel-not-a-number": (
        ["{ws}/rgb.npy", "--grid", "8", "--size", "8", "--channel", "red", "--out", OUT],
        ["--channel", "red"],
    ),
}


@pytest.mark.parametrize("argv, words", CASES.values(), ids=CASES.keys())
def test_patches_refuses(ws, capsys, argv, words):
    assert_refused(ws, ["patches", *argv], capsys, *words)


def test_smallest_patch_size_is_accepted(ws, tmp_path):
    out = tmp_path / "p8.npz"
    assert (
        main(["patches", str(ws / "img.npy"), "--grid", "8", "--size", "8", "--out", str(out)]) == 0
    )
    assert np.load(out)["patches"].shape[1:] == (8, 8)


def test_grid_larger_than_memory_is_refused_up_front(ws, capsys, monkeypatch):
    import os

    pages = {"SC_PHYS_PAGES": 256, "SC_PAGE_SIZE": 4096}  # pretend: a 1 MiB machine
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert_refused(
        ws,
        ["patches", IMG, "--grid", "1", "--size", "16", "--out", OUT],
        capsys,
        "--grid 1",
        "memory",
    )
