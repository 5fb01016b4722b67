"""Bad inputs to ``napari-ivae detect``: one clear line, exit 2, nothing changed (issue 12)."""

import shutil

import numpy as np
import pandas as pd
import pytest
from bad_inputs_kit import assert_refused, error_line, snapshot

from napari_ivae.cli import main

IMG = "{ws}/img.npy"
OUT = "{ws}/new.csv"

CASES = {
    # the output-path policy
    "out-missing-folder": ([IMG, "--out", "{ws}/nowhere/a.csv"], ["--out", "does not exist"]),
    "out-is-folder": ([IMG, "--out", "{ws}/folder.csv"], ["--out", "folder"]),
    "out-wrong-suffix": ([IMG, "--out", "{ws}/a.txt"], ["--out", ".csv"]),
    "out-is-fifo": ([IMG, "--out", "{ws}/fifo.csv"], ["--out", "not a regular file"]),
    # the spacing must fit the image (was an IndexError in crystal._band_box)
    "spacing-1000": ([IMG, "--spacing", "1000", "--out", OUT], ["--spacing", "64x64"]),
    "spacing-0.5": ([IMG, "--spacing", "0.5", "--out", OUT], ["--spacing", "between 2"]),
    "spacing-negative": ([IMG, "--spacing", "-3", "--out", OUT], ["--spacing"]),
    # axes and channels, in the CLI's spelling
    "4d-no-frame-axis": (["{ws}/img4d.npy", "--out", OUT], ["--frame-axis", "4D"]),
    # a 2D image has no frames to choose (was ignored, exit 0)
    "2d-with-frame-axis": ([IMG, "--frame-axis", "0", "--out", OUT], ["--frame-axis 0", "2D"]),
    "4d-5-channels": (
        ["{ws}/img4d.npy", "--frame-axis", "0", "--out", OUT],
        ["--frame-axis 0", "channel", "no option"],
    ),
    "4d-frame-axis-out-of-range": (
        ["{ws}/img4d.npy", "--frame-axis", "9", "--out", OUT],
        ["--frame-axis 9", "not an axis"],
    ),
    "2d-frame-axis-out-of-range": (
        [IMG, "--frame-axis", "5", "--out", OUT],
        ["--frame-axis 5", "2D", "leave --frame-axis out"],
    ),
    "ambiguous-3d": (["{ws}/amb3d.npy", "--out", OUT], ["--frame-axis 0", "ambiguous"]),
    "channel-not-a-number": ([IMG, "--channel", "red", "--out", OUT], ["--channel", "red"]),
    "channel-on-grey-image": (
        [IMG, "--channel", "1", "--out", OUT],
        ["--channel 1", "no colour axis"],
    ),
    # unreadable or unusable images
    "image-missing": (["{ws}/nothere.npy", "--out", OUT], ["not found"]),
    "image-hspy": (["{ws}/pts.hspy", "--out", OUT], ["unsupported extension"]),
    # numpy's advice was to load this text file with allow_pickle (unsafe)
    "image-corrupt": (
        ["{ws}/broken.npy", "--out", OUT],
        ["could not read", "not a numpy .npy file", "extension"],
    ),
    "image-empty-file": (["{ws}/empty.tif", "--out", OUT], ["could not read", "empty"]),
    # imageio's advice was to install a plugin (pyav, opencv)
    "picture-not-a-picture": (["{ws}/notimg.png", "--out", OUT], ["not a picture"]),
    # the reader's bare 'list index out of range'
    "tiff-damaged": (["{ws}/damaged.tif", "--out", OUT], ["damaged", "IndexError"]),
    "image-constant": (["{ws}/const.npy", "--out", OUT], ["constant"]),
    "image-text": (["{ws}/text.npy", "--out", OUT], ["dtype"]),
    "exclude-wrong-shape": (
        [IMG, "--exclude", "{ws}/const.npy", "--out", OUT],
        ["exclude mask", "shape"],
    ),
    "min-size-negative": (
        [IMG, "--mode", "particles", "--min-size", "-1", "--out", OUT],
        ["--min-size"],
    ),
    "sigma-negative": ([IMG, "--sigma", "-1", "--out", OUT], ["--sigma must"]),
    "border-negative": ([IMG, "--border", "-5", "--out", OUT], ["--border must"]),
}


@pytest.mark.parametrize("argv, words", CASES.values(), ids=CASES.keys())
def test_detect_refuses(ws, capsys, argv, words):
    assert_refused(ws, ["detect", *argv], capsys, *words)


def test_labels_image_may_not_overwrite_the_input(ws, tmp_path, capsys):
    # particle mode writes <stem>_labels.npy beside the CSV: here that is the image itself
    image = tmp_path / "cells_labels.npy"
    shutil.copy(ws / "noise.npy", image)
    before = snapshot(tmp_path)
    assert (
        main(["detect", str(image), "--mode", "particles", "--out", str(tmp_path / "cells.csv")])
        == 2
    )
    line = error_line(capsys.readouterr().err)
    assert "labels image" in line and "IMAGE" in line and "destroy" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("method", ["otsu", "li", "local"])
def test_noise_only_particles_warn_in_one_line(ws, tmp_path, capsys, method):
    # a threshold always finds "particles" in noise (107 with Otsu, no word): now it warns
    out = tmp_path / "n.csv"
    assert (
        main(
            [
                "detect",
                str(ws / "noise.npy"),
                "--mode",
                "particles",
                "--method",
                method,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    noise = [line for line in err.splitlines() if "warning:" in line and "noise" in line]
    assert len(noise) == 1 and "--polarity" in noise[0], err
    assert noise[0].startswith("napari-ivae detect: warning: ")
    assert "UserWarning" not in err and "Traceback" not in err
    assert len(pd.read_csv(out)) > 0  # still written: the user decides


def test_noise_only_with_defaults_finds_nothing_or_warns(ws, tmp_path, capsys):
    assert (
        main(
            [
                "detect",
                str(ws / "noise.npy"),
                "--mode",
                "particles",
                "--out",
                str(tmp_path / "n.csv"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    if len(pd.read_csv(tmp_path / "n.csv")):
        assert any("warning:" in line and "noise" in line for line in err.splitlines()), err
    else:  # the message uses the command line's spelling of the options
        assert "No particles found with --method" in err and "min_size" not in err, err


def test_clear_particles_do_not_warn(tmp_path, capsys):
    rows, cols = np.indices((64, 64))
    image = np.random.default_rng(1).normal(0, 0.05, (64, 64))
    for r, c in [(16, 16), (16, 44), (44, 30)]:
        image[(rows - r) ** 2 + (cols - c) ** 2 <= 36] += 1.0
    np.save(tmp_path / "discs.npy", image)
    assert (
        main(
            [
                "detect",
                str(tmp_path / "discs.npy"),
                "--mode",
                "particles",
                "--out",
                str(tmp_path / "d.csv"),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "3 particles found" in err and "warning" not in err


def test_nan_pixels_warn_as_one_cli_line(ws, tmp_path, capsys):
    image = np.load(ws / "img.npy")
    image[5, 5] = np.nan
    np.save(tmp_path / "holes.npy", image)
    assert main(["detect", str(tmp_path / "holes.npy"), "--out", str(tmp_path / "h.csv")]) == 0
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "warning:" in line]
    assert warnings == [
        "napari-ivae detect: warning: 1 NaN/inf pixels were replaced by the median of their frame."
    ], err
    assert "UserWarning" not in err and "warnings.warn" not in err


def test_overwriting_a_csv_replaces_it_whole(ws, tmp_path, capsys):
    out = tmp_path / "pts.csv"
    out.write_text("old content\n")
    assert main(["detect", str(ws / "img.npy"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:3]) == ["frame", "row", "col"] and len(table) > 20
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pts.csv"]  # no temporary left
