"""``napari-ivae detect`` on generated .npy and .tif files."""

import re

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_ivae.cli import main
from napari_ivae.core.synthetic.lattice import make_lattice


def test_detect_atoms_npy_defaults(tmp_path, capsys):
    lattice = make_lattice((128, 128), spacing=12.0, seed=0)
    np.save(tmp_path / "lat.npy", lattice.image)
    assert main(["detect", str(tmp_path / "lat.npy"), "--out", str(tmp_path / "pts.csv")]) == 0
    table = pd.read_csv(tmp_path / "pts.csv")
    assert list(table.columns[:3]) == ["frame", "row", "col"]
    assert 70 < len(table) <= len(lattice.positions)
    err = capsys.readouterr().err
    assert f"{len(table)} atoms found" in err
    spacing = float(re.search(r"spacing ([0-9.]+) px", err).group(1))
    assert abs(spacing - 12.0) < 0.25


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_detect_atoms_in_an_8_bit_colour_picture(tmp_path, capsys, suffix):
    import imageio.v3 as iio

    lattice = make_lattice((128, 128), spacing=12.0, seed=0)
    grey = np.clip(lattice.image / lattice.image.max() * 255, 0, 255).astype(np.uint8)
    iio.imwrite(tmp_path / f"lat{suffix}", np.stack([grey] * 3, axis=-1))  # as a viewer saves
    out = tmp_path / "pts.csv"
    assert main(["detect", str(tmp_path / f"lat{suffix}"), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert 70 < len(table) <= len(lattice.positions)


def test_detect_particles_tif_writes_labels(tmp_path, capsys):
    rows, cols = np.indices((96, 96))
    image = np.zeros((96, 96), dtype=np.uint8)
    for r, c in [(25, 25), (25, 70), (70, 48)]:
        image[(rows - r) ** 2 + (cols - c) ** 2 <= 64] = 200
    tifffile.imwrite(tmp_path / "p.tif", image)
    code = main(
        [
            "detect",
            str(tmp_path / "p.tif"),
            "--mode",
            "particles",
            "--out",
            str(tmp_path / "p.csv"),
            "--labels-format",
            "tif",
        ]
    )
    assert code == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 3
    labels = tifffile.imread(tmp_path / "p_labels.tif")
    assert labels.shape == (96, 96) and labels.max() == 3
    assert "3 particles found" in capsys.readouterr().err


def _particles_beside_vacuum():
    """Small bright particles on an uneven support that covers 60 % of the frame, vacuum (0)
    on the rest: the background as a whole is two levels, its spread is not noise."""
    from scipy import ndimage as ndi

    rows, cols = np.indices((256, 256))
    support = (
        ndi.gaussian_filter((cols > 102).astype(float), 8) * 40 * (1 + 0.3 * np.sin(rows / 30))
    )
    centres = [(r, c) for r in range(14, 246, 18) for c in range(116, 246, 18)]
    image = support
    for r, c in centres:
        image = image + 20 * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 18)
    return image + np.random.default_rng(0).normal(0, 2.0, image.shape), len(centres)


@pytest.mark.parametrize("case", ["particles beside vacuum", "smoothed noise"])
def test_detect_particles_warns_about_noise_only_when_particles_do_not_stand_out(
    tmp_path, capsys, case
):
    from scipy import ndimage as ndi

    if case == "smoothed noise":
        image = ndi.gaussian_filter(np.random.default_rng(0).normal(0, 1, (256, 256)), 1.5)
    else:
        image, count = _particles_beside_vacuum()
    np.save(tmp_path / "p.npy", image.astype(np.float32))
    out = tmp_path / "p.csv"
    assert main(["detect", str(tmp_path / "p.npy"), "--mode", "particles", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    if case == "smoothed noise":  # blobs of noise found: the warning says so
        assert "barely stand out from the background" in err
    else:  # every particle found, clearly above its surroundings: no warning
        assert len(pd.read_csv(out)) == count
        assert "warning" not in err


def test_detect_errors_exit_2(tmp_path, capsys):
    (tmp_path / "x.hspy").write_bytes(b"hspy")
    assert main(["detect", str(tmp_path / "x.hspy"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "unsupported extension" in capsys.readouterr().err
    (tmp_path / "x.dm4").write_bytes(b"dm4")
    assert main(["detect", str(tmp_path / "x.dm4"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "not a DigitalMicrograph (DM3/DM4) file" in capsys.readouterr().err
    np.save(tmp_path / "flat.npy", np.ones((32, 32)))
    assert main(["detect", str(tmp_path / "flat.npy"), "--out", str(tmp_path / "o.csv")]) == 2
    assert "constant" in capsys.readouterr().err
    assert main(["detect", str(tmp_path / "flat.npy"), "--out", str(tmp_path / "o.txt")]) == 2


def test_detect_atoms_crystal_region_and_exclude_options(tmp_path, capsys):
    from _crystal_data import particle_on_amorphous_support

    image, truth, bumps = particle_on_amorphous_support()
    np.save(tmp_path / "np.npy", image)
    exclude = np.zeros(image.shape, dtype=np.uint8)
    exclude[:128] = 1
    np.save(tmp_path / "mask.npy", exclude)
    runs = {
        "default": [],
        "all": ["--keep-non-crystal"],
        "half": ["--exclude", str(tmp_path / "mask.npy")],
    }
    tables = {}
    for name, options in runs.items():
        out = tmp_path / f"{name}.csv"
        assert main(["detect", str(tmp_path / "np.npy"), "--out", str(out), *options]) == 0
        tables[name] = pd.read_csv(out)
    err = capsys.readouterr().err
    assert "outside the crystalline region" in err
    assert "(--keep-non-crystal keeps them)" in err and "crystal_only" not in err
    assert len(tables["all"]) > len(tables["default"]) + 0.5 * len(bumps)
    assert (tables["half"]["row"] >= 127).all() and len(tables["half"]) > 20


def test_detect_polarity_for_atoms(tmp_path, capsys):
    from napari_ivae.core.synthetic.lattice import make_lattice

    truth = make_lattice((192, 192), spacing=12.0, noise=0.05, seed=12)
    np.save(tmp_path / "abf.npy", truth.image.max() + 0.2 - truth.image)
    out = tmp_path / "p.csv"
    assert main(["detect", str(tmp_path / "abf.npy"), "--out", str(out)]) == 0
    assert "dark (auto) atoms" in capsys.readouterr().err
    automatic = pd.read_csv(out)[["row", "col"]].to_numpy()
    assert (
        main(["detect", str(tmp_path / "abf.npy"), "--out", str(out), "--polarity", "bright"]) == 0
    )
    assert "bright atoms" in capsys.readouterr().err
    # bright forced on dark atoms finds the bright holes between them, not the atoms
    forced = pd.read_csv(out)[["row", "col"]].to_numpy()
    gaps = np.hypot(*(forced[:, None, :] - automatic[None, :, :]).transpose(2, 0, 1)).min(axis=1)
    assert np.median(gaps) > 0.25 * 12.0
    assert (
        main(
            [
                "detect",
                str(tmp_path / "abf.npy"),
                "--out",
                str(out),
                "--invert",
                "--polarity",
                "bright",
            ]
        )
        == 2
    )
    assert "contradict" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["atoms", "particles"])
def test_a_large_stack_is_detected_frame_by_frame_with_the_same_points(
    tmp_path, capsys, monkeypatch, mode
):
    from napari_ivae.cli import _detect
    from napari_ivae.core.synthetic.particles import make_particles

    if mode == "atoms":
        frames = [make_lattice((96, 96), spacing=10.0, noise=0.08, seed=s).image for s in range(3)]
    else:
        frames = [make_particles(96, count=8, radius=5, noise=0.05, seed=s).image for s in range(3)]
    np.save(tmp_path / "stack.npy", np.stack(frames).astype(np.float32))
    args = ["detect", str(tmp_path / "stack.npy"), "--mode", mode, "--frame-axis", "0"]
    assert main(args + ["--out", str(tmp_path / "memory.csv")]) == 0
    monkeypatch.setattr(_detect, "STREAM_BYTES", 0)  # every stack streams
    assert main(args + ["--out", str(tmp_path / "streamed.csv")]) == 0
    err = capsys.readouterr().err
    assert "frames detected 3/3" in err
    memory, streamed = (pd.read_csv(tmp_path / f"{n}.csv") for n in ("memory", "streamed"))
    np.testing.assert_allclose(
        streamed[["frame", "row", "col"]], memory[["frame", "row", "col"]], atol=1e-6
    )
    if mode == "particles":
        np.testing.assert_array_equal(
            np.load(tmp_path / "streamed_labels.npy"), np.load(tmp_path / "memory_labels.npy")
        )
        assert not list(tmp_path.glob("*scratch*"))


def _random_discs():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:200, :200]
    image = np.zeros((200, 200), np.float32)
    for row, col in rng.uniform(10, 190, (40, 2)):
        image[(yy - row) ** 2 + (xx - col) ** 2 <= 5**2] = 1.0
    return image + rng.normal(0, 0.1, image.shape).astype(np.float32)


def test_atoms_without_a_lattice_suggest_the_particles_mode(tmp_path, capsys):
    """40 discs asked as atoms (the default mode): no lattice, and a warning line points to
    --mode particles, as the Detect widget points to 'find: particles'; not once a spacing
    is given (the user means atoms)."""
    np.save(tmp_path / "discs.npy", _random_discs())
    args = ["detect", str(tmp_path / "discs.npy"), "--out", str(tmp_path / "o.csv")]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "no lattice periodicity" in err, err
    assert (
        "warning: if the image shows particles rather than atom columns, give --mode particles"
        in err
    )
    assert main([*args, "--spacing", "15"]) == 0
    assert "--mode particles" not in capsys.readouterr().err


def test_atoms_failing_on_the_spacing_suggest_the_particles_mode(tmp_path, capsys, monkeypatch):
    """The core's spacing error (Ru1's particles asked as atoms: 'the image looks like noise')
    ends with the pointer to --mode particles."""
    from napari_ivae.core.detection import atoms
    from napari_ivae.core.errors import InputError

    def fails(*args, **kwargs):
        raise InputError(
            "The estimated spacing (1.84 px) is below 2.0 px: the image looks like noise. "
            "Give the spacing explicitly (spacing=...)."
        )

    monkeypatch.setattr(atoms, "detect_atoms", fails)
    np.save(tmp_path / "discs.npy", _random_discs())
    assert main(["detect", str(tmp_path / "discs.npy"), "--out", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert "the image looks like noise" in err, err
    assert err.rstrip().endswith(
        "If the image shows particles rather than atom columns, give --mode particles."
    )


def test_an_exclude_mask_over_every_pixel_is_refused(tmp_path, capsys):
    """The image itself given as --exclude (every pixel non-zero): '0 particles found ...
    check the polarity' before, which sent the user after the wrong option; now one error
    naming --exclude."""
    image = (_random_discs() * 100 + 50).astype(np.uint8)
    tifffile.imwrite(tmp_path / "discs.tif", image)
    args = ["detect", str(tmp_path / "discs.tif"), "--mode", "particles"]
    code = main([*args, "--exclude", str(tmp_path / "discs.tif"), "--out", str(tmp_path / "o.csv")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--exclude" in err and "non-zero at every pixel" in err, err
    assert not (tmp_path / "o.csv").exists()
    mask = np.zeros(image.shape, bool)
    mask[:20] = True  # a real mask: the particles elsewhere are found
    np.save(tmp_path / "mask.npy", mask)
    assert (
        main([*args, "--exclude", str(tmp_path / "mask.npy"), "--out", str(tmp_path / "o.csv")])
        == 0
    )


@pytest.mark.parametrize("mode", ["atoms", "particles"])
def test_the_scale_bar_warning_asks_for_exclude_only_when_none_was_given(tmp_path, capsys, mode):
    """A burned-in scale bar is masked by itself; its warning points to --exclude only where
    no mask was given, and says the mask was used besides it where one was."""
    if mode == "atoms":
        image = make_lattice((256, 256), spacing=8.0, seed=0).image
    else:
        from napari_ivae.core.synthetic.particles import make_particles

        image = make_particles((384, 384), count=40, radius=7, seed=1, noise=0.1).image
    image = image.astype(np.float32)
    image[-26:-16, -110:-20] = 1.5 * image.max()  # the scale bar
    tifffile.imwrite(tmp_path / "bar.tif", image)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[:20, :20] = 1
    np.save(tmp_path / "mask.npy", mask)
    args = ["detect", str(tmp_path / "bar.tif"), "--mode", mode, "--out", str(tmp_path / "o.csv")]
    for given in (False, True):
        capsys.readouterr()
        extra = ["--exclude", str(tmp_path / "mask.npy")] if given else []
        assert main([*args, *extra]) == 0
        bar = [line for line in capsys.readouterr().err.splitlines() if "scale bar" in line]
        assert len(bar) == 1, bar
        assert "warning" not in bar[0], bar[0]  # information, not a doubt on the result
        assert ("give --exclude" in bar[0]) is not given, bar[0]
        assert ("besides the --exclude mask" in bar[0]) is given, bar[0]


def test_a_stack_s_count_is_said_once_with_its_frames(tmp_path, capsys):
    """'1198 atoms found (spacing ...)' was followed by the core's '1198 atoms in 5 frames
    (spacing ...)': now one line says the count, the frames and the spacing."""
    stack = np.stack([make_lattice((96, 96), spacing=8.0, seed=s).image for s in range(3)])
    np.save(tmp_path / "s.npy", stack.astype(np.float32))
    out = tmp_path / "s.csv"
    assert main(["detect", str(tmp_path / "s.npy"), "--frame-axis", "0", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    n = len(pd.read_csv(out))
    assert f"{n} atoms found in 3 frames (spacing" in err, err
    assert len(re.findall(rf"\b{n}\b", err)) == 1, err
