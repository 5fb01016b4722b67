"""``napari-ivae patches`` round trips and errors."""

import json

import numpy as np
import pytest

from napari_ivae.cli import main
from napari_ivae.core.patches.cutting import load_patches

SEED = 3


@pytest.fixture
def image_file(tmp_path):
    image = np.random.default_rng(SEED).random((40, 48)).astype(np.float32)
    path = tmp_path / "img.npy"
    np.save(path, image)
    return path, image


def test_points_round_trip(tmp_path, image_file, capsys):
    path, image = image_file
    points = tmp_path / "pts.csv"
    points.write_text("frame,row,col,intensity\n0,10,12,1.0\n0,1,1,2.0\n0,20.5,30,3.0\n")
    out = tmp_path / "p.npz"
    args = ["patches", str(path), "--points", str(points), "--size", "8", "--normalize", "none"]
    assert main([*args, "--out", str(out)]) == 0
    ps = load_patches(out)
    np.testing.assert_array_equal(ps.indices, [0, 2])  # the border point is dropped
    np.testing.assert_array_equal(ps.patches[0], image[6:14, 8:16])
    np.testing.assert_allclose(
        ps.patches[1], 0.5 * (image[16:24, 26:34] + image[17:25, 26:34]), atol=1e-6
    )
    err = capsys.readouterr().err
    assert "cut 2 patches" in err and "dropped" in err


def test_a_colour_picture_is_cut_from_its_luminance_as_detect_reads_it(tmp_path):
    """An RGBA .png (a grey picture saved with an alpha channel, as EricZQu's exp.png) is cut
    without --channel, from the luminance that `detect` found its points on."""
    from PIL import Image

    grey = np.random.default_rng(SEED).integers(0, 256, (40, 48)).astype(np.uint8)
    Image.fromarray(np.dstack([grey, grey, grey, np.full_like(grey, 255)])).save(
        tmp_path / "img.png"
    )
    points = tmp_path / "pts.csv"
    points.write_text("row,col\n10,12\n20,30\n")
    out = tmp_path / "p.npz"
    args = ["patches", str(tmp_path / "img.png"), "--points", str(points), "--size", "8"]
    assert main([*args, "--normalize", "none", "--out", str(out)]) == 0
    patches = load_patches(out).patches
    np.testing.assert_allclose(patches[0], grey[6:14, 8:16], atol=1e-3)
    np.testing.assert_allclose(patches[1], grey[16:24, 26:34], atol=1e-3)


def test_grid_round_trip_with_tif(tmp_path, image_file):
    import tifffile

    _, image = image_file
    path = tmp_path / "img.tif"
    tifffile.imwrite(path, image)
    out = tmp_path / "g.npz"
    code = main(
        [
            "patches",
            str(path),
            "--grid",
            "8",
            "--size",
            "8",
            "--out",
            str(out),
        ]
    )
    assert code == 0  # the default normalisation: global, as the napari widget's
    with np.load(out) as data:
        assert data["patches"].shape == (5 * 6, 8, 8)
        np.testing.assert_array_equal(data["grid_shape"], [5, 6])
        assert int(data["stride"]) == 8
        assert json.loads(str(data["normalization"]))["mode"] == "global"
        assert np.all(data["indices"] == -1)


def test_bad_arguments(tmp_path, image_file, capsys):
    path, _ = image_file
    out = str(tmp_path / "x.npz")
    assert main(["patches", str(path), "--grid", "4", "--size", "100", "--out", out]) == 2
    assert "larger than" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # neither --points nor --grid
        main(["patches", str(path), "--size", "8", "--out", out])
    assert exit_info.value.code == 2


def test_bad_files_exit_2(tmp_path, image_file, capsys):
    path, _ = image_file
    bad = tmp_path / "img.png"
    bad.write_bytes(b"not an image")
    assert (
        main(["patches", str(bad), "--grid", "4", "--size", "8", "--out", str(tmp_path / "x.npz")])
        == 2
    )
    assert (
        main(["patches", str(path), "--grid", "4", "--size", "8", "--out", str(tmp_path / "x.txt")])
        == 2
    )
    missing = tmp_path / "missing.csv"
    assert (
        main(
            [
                "patches",
                str(path),
                "--points",
                str(missing),
                "--size",
                "8",
                "--out",
                str(tmp_path / "x.npz"),
            ]
        )
        == 2
    )
    framed = tmp_path / "framed.csv"
    framed.write_text("frame,row,col\n1,10,10\n")
    assert (
        main(
            [
                "patches",
                str(path),
                "--points",
                str(framed),
                "--size",
                "8",
                "--out",
                str(tmp_path / "x.npz"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("error:") == 4 and "frames other than 0" in err
    assert not (tmp_path / "x.npz").exists()


# ---- automatic size: two spacings, as napari's patch widget (patch size 0) -------------------
def _lattice_files(tmp_path, spacing=10.0):
    from napari_ivae.core.synthetic.lattice import make_lattice

    lattice = make_lattice((128, 128), spacing=spacing, noise=0.05, seed=1)
    np.save(tmp_path / "lattice.npy", lattice.image)
    rows = ["row,col"] + [f"{r},{c}" for r, c in lattice.positions]
    (tmp_path / "atoms.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "lattice.npy", tmp_path / "atoms.csv"


def _patch_side(path) -> int:
    with np.load(path) as data:
        side = data["patches"].shape[-1]
        assert json.loads(str(data["patch_params"]))["size"] == side
    return side


def test_without_size_points_get_two_of_their_spacings(tmp_path, capsys):
    image, points = _lattice_files(tmp_path, spacing=10.0)
    out = tmp_path / "p.npz"
    assert main(["patches", str(image), "--points", str(points), "--out", str(out)]) == 0
    assert _patch_side(out) == 20
    err = capsys.readouterr().err
    assert "size 20 px = 2.0 x spacing 10.0 px (the points' median nearest" in err
    assert "note: --size" not in err


def test_without_size_grid_patches_get_two_spacings_measured_on_the_image(tmp_path, capsys):
    image, _ = _lattice_files(tmp_path, spacing=12.0)
    out = tmp_path / "g.npz"
    assert main(["patches", str(image), "--grid", "16", "--out", str(out)]) == 0
    assert _patch_side(out) == 24
    assert "size 24 px = 2.0 x spacing 12.0 px (measured on the image)" in capsys.readouterr().err


def test_without_size_and_without_a_lattice_the_default_is_said(tmp_path, image_file, capsys):
    path, _ = image_file  # noise: no spacing to measure
    out = tmp_path / "g.npz"
    assert main(["patches", str(path), "--grid", "8", "--out", str(out)]) == 0
    assert _patch_side(out) == 32
    assert "size 32 px, the default: no spacing could be measured" in capsys.readouterr().err


@pytest.mark.parametrize("size, far", [(8, True), (20, False), (40, False), (48, True)])
def test_a_size_far_from_the_spacing_gets_a_note_naming_the_automatic_size(
    tmp_path, size, far, capsys
):
    image, points = _lattice_files(tmp_path, spacing=10.0)
    out = tmp_path / "p.npz"
    args = ["patches", str(image), "--points", str(points), "--size", str(size)]
    assert main([*args, "--out", str(out)]) == 0
    assert _patch_side(out) == size
    err = capsys.readouterr().err
    assert ("without --size the size would be 20 px" in err) == far
    if far:
        assert f"note: --size {size} is {size / 10:.2g} x the spacing 10.0 px" in err


def test_train_on_an_image_without_size_cuts_the_automatic_size(tmp_path, capsys):
    from napari_ivae.core.models.persistence import load_model

    image, points = _lattice_files(tmp_path, spacing=10.0)
    model = tmp_path / "m.ivae.pt"
    args = ["train", "--model", "vae", "--image", str(image), "--points", str(points)]
    tiny = ["--epochs", "1", "--hidden", "16", "--batch-size", "16", "--quiet"]
    assert main([*args, "--out", str(model), *tiny]) == 0
    assert tuple(load_model(model).config.patch_shape) == (20, 20)
    assert "napari-ivae train: size 20 px = 2.0 x spacing 10.0 px" in capsys.readouterr().err


def test_the_points_spacing_of_a_stack_is_measured_within_each_frame():
    from napari_ivae.core.patches.sizing import points_spacing

    rows, cols = np.meshgrid(np.arange(5) * 7.0, np.arange(5) * 7.0, indexing="ij")
    frame = np.column_stack([rows.ravel(), cols.ravel()])
    stack = np.vstack([np.column_stack([np.full(25, f), frame]) for f in range(3)])
    assert points_spacing(stack) == pytest.approx(7.0)  # not 0 (the same place in every frame)
    assert points_spacing(frame) == pytest.approx(7.0)
    assert points_spacing(np.array([[0, 3.0, 4.0], [1, 5.0, 5.0]])) is None  # one per frame


# ---- particles: two of their diameters, not two spacings, when they lie far apart ----------------
def _sparse_discs(tmp_path, radius=8, step=60, margin=22):
    """4 x 4 bright discs ``step`` px apart, the outer ring ``margin`` px from the border, and
    the points CSV `detect` writes for them (with its size columns)."""
    side = 2 * margin + 3 * step
    yy, xx = np.mgrid[:side, :side]
    image = np.zeros((side, side), np.float32)
    rows = ["frame,row,col,label,area,equivalent_diameter"]
    for i in range(4):
        for j in range(4):
            r, c = margin + step * i, margin + step * j
            disc = (yy - r) ** 2 + (xx - c) ** 2 <= radius**2
            image[disc] = 1.0
            area = int(disc.sum())
            rows.append(f"0,{r},{c},{4 * i + j + 1},{area},{2 * np.sqrt(area / np.pi)}")
    image += np.random.default_rng(SEED).normal(0, 0.1, image.shape).astype(np.float32)
    np.save(tmp_path / "discs.npy", image)
    (tmp_path / "discs.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "discs.npy", tmp_path / "discs.csv"


def test_sparse_particles_get_two_diameters_and_keep_every_interior_particle(tmp_path, capsys):
    """Discs of diameter ~16 px, 60 px apart, 22 px from the border: two spacings (120 px)
    would drop all 16; two diameters (32 px) keep them all."""
    image, points = _sparse_discs(tmp_path)
    out = tmp_path / "p.npz"
    assert main(["patches", str(image), "--points", str(points), "--out", str(out)]) == 0
    assert _patch_side(out) == 32
    assert len(load_patches(out).patches) == 16
    err = capsys.readouterr().err
    assert (
        "size 32 px = 2 x particle diameter 15.8 px (the points' median equivalent_diameter" in err
    )
    assert "two spacings of 60.0 px would make 120 px" in err and "dropped" not in err
    # a given size far from two diameters is noted against the diameter
    assert (
        main(["patches", str(image), "--points", str(points), "--size", "120", "--out", str(out)])
        == 0
    )
    err = capsys.readouterr().err
    assert "--size 120 is 7.6 x the particles' diameter 15.8 px" in err
    assert "without --size the size would be 32 px" in err


def test_train_on_sparse_particles_cuts_two_diameters_as_patches_does(tmp_path, capsys):
    from napari_ivae.core.models.persistence import load_model

    image, points = _sparse_discs(tmp_path)
    model = tmp_path / "m.ivae.pt"
    args = ["train", "--model", "vae", "--image", str(image), "--points", str(points)]
    tiny = ["--epochs", "1", "--hidden", "16", "--batch-size", "16", "--quiet"]
    assert main([*args, "--out", str(model), *tiny]) == 0
    assert tuple(load_model(model).config.patch_shape) == (32, 32)
    assert (
        "napari-ivae train: size 32 px = 2 x particle diameter 15.8 px" in capsys.readouterr().err
    )


def test_dense_particles_keep_two_spacings(tmp_path, capsys):
    """Particles closer than their diameter (touching, measured larger than their spacing):
    the patch stays two spacings, as for atoms."""
    image, _ = _lattice_files(tmp_path, spacing=10.0)
    rows = ["row,col,diameter"] + [f"{r},{c},14.0" for r, c in _lattice_positions(10.0)]
    (tmp_path / "p.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "p.npz"
    assert (
        main(["patches", str(image), "--points", str(tmp_path / "p.csv"), "--out", str(out)]) == 0
    )
    assert _patch_side(out) == 20
    assert "size 20 px = 2.0 x spacing 10.0 px" in capsys.readouterr().err


def _lattice_positions(spacing):
    from napari_ivae.core.synthetic.lattice import make_lattice

    return make_lattice((128, 128), spacing=spacing, noise=0.05, seed=1).positions


def test_the_particle_diameter_is_read_from_the_size_columns_points_carry():
    from napari_ivae.core.patches.sizing import auto_patch_size, particle_diameter

    assert particle_diameter({"equivalent_diameter": [10.0, 12.0, 30.0]}) == (
        12.0,
        "equivalent_diameter",
    )
    assert particle_diameter({"Radius": [5.0, 6.0, np.nan]}) == (11.0, "Radius")
    assert particle_diameter({"area": [np.pi * 49]})[0] == pytest.approx(14.0)
    assert particle_diameter({"prominence": [1.0], "snr": [3.0]}) is None  # atoms
    assert particle_diameter({"diameter": [0.0, -1.0]}) is None
    assert auto_patch_size(40.0) == auto_patch_size(40.0, None) == 80  # atoms: as before
    assert auto_patch_size(40.0, 12.0) == 24
    assert auto_patch_size(10.0, 14.0) == 20  # touching: two spacings
    assert auto_patch_size(None, 12.0) == 24  # one particle: no spacing
    assert auto_patch_size(None) == 32


def _nan_image_and_points(tmp_path):
    """A 64 px image with a band of missing rows, and points on and off the band."""
    image = np.random.default_rng(SEED).random((64, 64)).astype(np.float32)
    image[20:24] = np.nan
    np.save(tmp_path / "nans.npy", image)
    points = tmp_path / "nans.csv"
    points.write_text("row,col\n21,30\n40,30\n10,12\n")
    return image, points


def test_patches_and_train_fill_missing_pixels_and_warn_as_detect_does(tmp_path, capsys):
    """QA: 'patches' refused a NaN image ('... Fill or crop the image first (prepare_image)',
    a Python function) where detect fills NaNs with the frame's median and warns."""
    image, points = _nan_image_and_points(tmp_path)
    out = tmp_path / "p.npz"
    args = ["patches", str(tmp_path / "nans.npy"), "--points", str(points), "--size", "8"]
    assert main([*args, "--normalize", "none", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    words = "warning: 256 NaN/inf pixels were replaced by the median of their frame."
    assert f"napari-ivae patches: {words}" in err and "prepare_image" not in err
    ps = load_patches(out)
    assert len(ps) == 3 and np.isfinite(ps.patches).all()
    median = np.median(image[np.isfinite(image)])
    np.testing.assert_allclose(ps.patches[0][3:7], median)  # image rows 20..23 (patch 17..24)
    train = ["train", "--model", "vae", "--image", str(tmp_path / "nans.npy")]
    train += ["--points", str(points), "--size", "8", "--epochs", "1", "--latent-dim", "2"]
    assert main([*train, "--out", str(tmp_path / "m.ivae.pt")]) == 0
    assert f"napari-ivae train: {words}" in capsys.readouterr().err


def test_patches_and_train_refuse_an_ambiguous_3d_image_as_detect_does(tmp_path, capsys):
    """QA: a (3, Y, X) TIFF was cut as 3 frames by 'patches' and 'train --image' while
    'detect' and 'batch' refuse it and ask for --frame-axis; now all four ask, and
    --frame-axis 0 cuts the frames."""
    stack = np.random.default_rng(SEED).random((3, 40, 40)).astype(np.float32)
    np.save(tmp_path / "s.npy", stack)
    points = tmp_path / "s.csv"
    points.write_text("frame,row,col\n0,20,20\n2,15,18\n")
    image, out = str(tmp_path / "s.npy"), str(tmp_path / "p.npz")
    refusals = []
    for command in (
        ["detect", image, "--out", str(tmp_path / "d.csv")],
        ["patches", image, "--points", str(points), "--size", "8", "--out", out],
        ["train", "--model", "vae", "--image", image, "--points", str(points), "--size", "8"]
        + ["--out", str(tmp_path / "m.ivae.pt")],
    ):
        assert main(command) != 0
        err = capsys.readouterr().err
        assert "Ambiguous 3D image of shape (3, 40, 40)" in err and "--frame-axis 0" in err
        refusals.append(err.split("error: ", 1)[1])
    assert refusals[0] == refusals[1] == refusals[2]  # the same words
    assert not (tmp_path / "p.npz").exists()
    args = ["patches", image, "--points", str(points), "--size", "8", "--normalize", "none"]
    assert main([*args, "--frame-axis", "0", "--out", out]) == 0
    ps = load_patches(out)
    np.testing.assert_array_equal(ps.frames, [0, 2])
    np.testing.assert_array_equal(ps.patches[1], stack[2, 11:19, 14:22])


def test_train_from_an_image_takes_a_channel_as_patches_does(tmp_path, capsys):
    """QA: the refusal of an ambiguous 3D image names --channel, which 'train --image'
    lacked; now it reads the channel as 'patches' does (the same patches, the same model)."""
    from napari_ivae.core.models.persistence import load_model

    stack = np.random.default_rng(SEED).random((3, 40, 40)).astype(np.float32)
    np.save(tmp_path / "s.npy", stack)
    points = tmp_path / "s.csv"
    points.write_text("row,col\n20,20\n15,18\n25,22\n18,26\n")
    image, npz = str(tmp_path / "s.npy"), str(tmp_path / "p.npz")
    cut = ["patches", image, "--points", str(points), "--size", "8", "--channel", "1"]
    assert main([*cut, "--normalize", "none", "--out", str(tmp_path / "raw.npz")]) == 0
    raw = load_patches(tmp_path / "raw.npz").patches[0]
    np.testing.assert_allclose(raw, stack[1, 16:24, 16:24], atol=1e-6)
    assert main([*cut, "--out", npz]) == 0  # normalised as train --image does by default
    tiny = ["--model", "vae", "--epochs", "1", "--latent-dim", "2", "--seed", "3", "--quiet"]
    assert main(["train", "--patches", npz, "--out", str(tmp_path / "a.ivae.pt"), *tiny]) == 0
    from_image = ["train", "--image", image, "--points", str(points), "--size", "8"]
    from_image += ["--channel", "1", "--out", str(tmp_path / "b.ivae.pt"), *tiny]
    assert main(from_image) == 0, capsys.readouterr().err
    a, b = (load_model(tmp_path / name).model.state_dict() for name in ("a.ivae.pt", "b.ivae.pt"))
    for name in a:
        np.testing.assert_allclose(a[name].numpy(), b[name].numpy(), atol=1e-6, err_msg=name)


def test_patches_of_particles_keep_their_size_for_the_maps(tmp_path, image_file):
    """Points with Detect's equivalent_diameter: the .npz records each patch's particle
    diameter, so their maps stay on each particle; atoms' points record none."""
    path, _ = image_file
    out = tmp_path / "p.npz"
    particles = tmp_path / "particles.csv"
    particles.write_text("row,col,equivalent_diameter\n12,12,4.0\n20,30,6.0\n28,20,5.0\n")
    args = ["patches", str(path), "--size", "8", "--out", str(out)]
    assert main([*args, "--points", str(particles)]) == 0
    np.testing.assert_array_equal(load_patches(out).particle_diameter, [4.0, 6.0, 5.0])
    atoms = tmp_path / "atoms.csv"
    atoms.write_text("row,col,intensity\n12,12,4.0\n20,30,6.0\n28,20,5.0\n")
    assert main([*args, "--points", str(atoms)]) == 0
    assert load_patches(out).particle_diameter is None
