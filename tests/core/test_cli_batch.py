"""`napari-ivae batch`: one saved model over many images, resumable, never leaving partial
outputs; the same results as the step-by-step commands."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_ivae.cli import main
from napari_ivae.core.synthetic.lattice import make_lattice

SIZE = 16
N_IMAGES = 12


def _lattice(i, shape=(80, 80)):
    return make_lattice(shape, spacing=10.0, noise=0.08, rotation=7.0 * i, seed=i).image.astype(
        np.float32
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A tiny rVAE trained through the command line on global-normalised atom patches."""
    root = tmp_path_factory.mktemp("batch_model")
    np.save(root / "train.npy", _lattice(100, (128, 128)))
    assert main(["detect", str(root / "train.npy"), "--out", str(root / "atoms.csv")]) == 0
    assert (
        main(
            [
                "patches",
                str(root / "train.npy"),
                "--points",
                str(root / "atoms.csv"),
                "--size",
                str(SIZE),
                "--normalize",
                "global",
                "--out",
                str(root / "patches.npz"),
            ]
        )
        == 0
    )
    out = root / "m.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "rvae",
                "--patches",
                str(root / "patches.npz"),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--hidden",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    return out


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(N_IMAGES):
        np.save(folder / f"img_{i:02d}.npy", _lattice(i))
    return folder


def _command():
    script = shutil.which("napari-ivae")
    return [script] if script else [sys.executable, "-m", "napari_ivae.cli"]


def _state(out):
    """Visible result folders -> their files; hidden entries (partial folders, lock)."""
    visible = {
        p.name: sorted(f.name for f in p.iterdir())
        for p in out.iterdir()
        if not p.name.startswith(".")
    }
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    return visible, hidden


def _check_complete(out, visible):
    for name, files in visible.items():
        record = json.loads((out / name / "batch.json").read_text())
        assert sorted(record["files"] + ["batch.json"]) == files
        table = pd.read_csv(out / name / f"{name}.csv")
        assert len(table) == record["counts"]["patches"] > 0


def test_batch_gives_the_step_by_step_results(model, tmp_path, capsys):
    image = tmp_path / "one.npy"
    np.save(image, _lattice(3, (96, 96)))
    assert main(["detect", str(image), "--out", str(tmp_path / "a.csv")]) == 0
    assert (
        main(
            [
                "patches",
                str(image),
                "--points",
                str(tmp_path / "a.csv"),
                "--size",
                str(SIZE),
                "--normalize",
                "global",
                "--out",
                str(tmp_path / "p.npz"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "encode",
                str(model),
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(tmp_path / "e.npz"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["batch", str(model), str(image), "--out", str(tmp_path / "res")]) == 0
    assert capsys.readouterr().err.startswith("napari-ivae batch: 1 image with the ")
    table = pd.read_csv(tmp_path / "res" / "one" / "one.csv")
    expected = np.load(tmp_path / "e.npz")
    np.testing.assert_allclose(table[["row", "col"]], expected["centres"], atol=1e-6)
    np.testing.assert_allclose(
        table[["z_mean_1", "z_mean_2"]], expected["z_mean"], rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(np.cos(table["angle"] - expected["angle"]), 1, atol=1e-5)
    np.testing.assert_allclose(table[["dx", "dy"]], expected["offsets"], rtol=1e-5, atol=1e-5)
    assert {"prominence", "frame"} <= set(table.columns)
    from napari_ivae.core.analysis import maps
    from napari_ivae.core.patches.cutting import load_patches

    patchset = load_patches(tmp_path / "p.npz")
    with np.load(tmp_path / "res" / "one" / "one_maps.npz") as painted:
        assert set(painted.files) == {"z_mean_1", "z_mean_2", "angle", "dx", "dy"}
        assert painted["z_mean_1"].shape == (96, 96)
        np.testing.assert_allclose(
            painted["z_mean_2"],
            maps.patch_map(expected["z_mean"][:, 1], patchset),
            atol=1e-5,
            equal_nan=True,
        )


N_MANY = 50  # the kill test: 50 small images, killed halfway


@pytest.fixture
def many_images(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(N_MANY):
        np.save(folder / f"img_{i:02d}.npy", _lattice(i, (64, 64)))
    return folder


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_killed_halfway_the_rerun_finishes_the_rest_and_skips_the_done(
    model, many_images, tmp_path, how, capsys
):
    out = tmp_path / "results"
    args = ["batch", str(model), str(many_images), "--out", str(out)]
    proc = subprocess.Popen([*_command(), *args], stderr=subprocess.PIPE, text=True)
    seen, deadline = [], time.monotonic() + 240
    for line in proc.stderr:
        seen.append(line)
        if sum(" patches -> " in s for s in seen) >= N_MANY // 2 or time.monotonic() > deadline:
            break
    proc.send_signal(how)
    _, rest = proc.communicate(timeout=60)
    text = "".join(seen) + rest
    assert proc.returncode == (-signal.SIGKILL if how == signal.SIGKILL else 130), text
    visible, hidden = _state(out)
    assert N_MANY // 2 <= len(visible) < N_MANY, text
    _check_complete(out, visible)  # every visible folder is a finished result
    if how == signal.SIGTERM:
        assert hidden == [], text  # cleaned up on the way out
    stamps = {name: os.stat(out / name / "batch.json").st_mtime_ns for name in visible}

    capsys.readouterr()
    assert main(args) == 0  # the rerun in this process: only the first run needs killing
    err = capsys.readouterr().err
    assert err.count("done earlier, skipped") == len(visible), err
    assert err.count(" patches -> ") == N_MANY - len(visible), err
    after, hidden = _state(out)
    assert hidden == [] and sorted(after) == [f"img_{i:02d}" for i in range(N_MANY)]
    _check_complete(out, after)
    assert {name: os.stat(out / name / "batch.json").st_mtime_ns for name in visible} == stamps


def test_a_bad_image_does_not_stop_the_batch(model, images, tmp_path, capsys):
    np.save(images / "broken.npy", np.zeros(5))
    (images / "garbage.tif").write_bytes(b"not a tiff")
    out = tmp_path / "results"
    assert main(["batch", str(model), str(images), "--out", str(out), "--maps", "tif"]) == 3
    err = capsys.readouterr().err
    assert err.count(": error:") == 2 and "broken.npy: error:" in err
    assert "garbage.tif: error:" in err and "2 failed" in err.splitlines()[-1]
    visible, hidden = _state(out)
    assert len(visible) == N_IMAGES and hidden == []
    assert "img_00_z_mean_1.tif" in visible["img_00"]
    # rerun: only the bad ones are tried again
    assert main(["batch", str(model), str(images), "--out", str(out), "--maps", "tif"]) == 3
    err = capsys.readouterr().err
    assert err.count("done earlier, skipped") == N_IMAGES and err.count(": error:") == 2


def test_a_changed_image_or_another_model_is_done_again(model, images, tmp_path, capsys):
    out = tmp_path / "results"
    files = [str(images / "img_00.npy"), str(images / "img_01.npy")]
    assert main(["batch", str(model), *files, "--out", str(out)]) == 0
    np.save(images / "img_01.npy", _lattice(7))  # new content
    capsys.readouterr()
    assert main(["batch", str(model), *files, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "img_00.npy: done earlier" in err and "img_01.npy: done earlier" not in err
    assert err.count(" patches -> ") == 1
    other = tmp_path / "copy.ivae.pt"
    other.write_bytes(model.read_bytes() + b"")  # same model, other file: still done
    assert main(["batch", str(other), *files, "--out", str(out)]) == 0
    assert capsys.readouterr().err.count("done earlier, skipped") == 2
    assert main(["batch", str(model), *files, "--out", str(out), "--redo"]) == 0
    assert capsys.readouterr().err.count(" patches -> ") == 2
    assert main(["batch", str(model), *files, "--out", str(out), "--maps", "tif"]) == 0
    assert capsys.readouterr().err.count(" patches -> ") == 2  # other outputs asked for
    assert sorted(p.name for p in (out / "img_00").iterdir())[-1] == "img_00_z_mean_2.tif"
    assert not (out / "img_00" / "img_00_maps.npz").exists()  # the old result was replaced


def test_batch_refuses_clear_problems_before_any_work(model, images, tmp_path, capsys):
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "img_00.npy", _lattice(1))
    out = tmp_path / "results"
    assert main(["batch", str(model), str(images), str(other), "--out", str(out)]) == 2
    assert "both write 'img_00/'" in capsys.readouterr().err
    assert main(["batch", str(model), str(tmp_path / "nothing*.tif"), "--out", str(out)]) == 2
    assert "matches no images" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert main(["batch", str(model), str(images), "--out", str(tmp_path / "file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert not out.exists()


def test_a_large_stack_streams_with_the_same_results(model, tmp_path, monkeypatch):
    from napari_ivae.cli import _detect

    stack = np.stack([_lattice(i) for i in range(6)])
    np.save(tmp_path / "stack.npy", stack)
    assert (
        main(["batch", str(model), str(tmp_path / "stack.npy"), "--out", str(tmp_path / "memory")])
        == 0
    )
    monkeypatch.setattr(_detect, "STREAM_BYTES", stack.nbytes // 2)  # now it is "large"
    assert (
        main(
            ["batch", str(model), str(tmp_path / "stack.npy"), "--out", str(tmp_path / "streamed")]
        )
        == 0
    )
    a = pd.read_csv(tmp_path / "memory" / "stack" / "stack.csv")
    b = pd.read_csv(tmp_path / "streamed" / "stack" / "stack.csv")
    assert list(a.columns) == list(b.columns) and set(a["frame"]) == set(range(6))
    np.testing.assert_allclose(b[["frame", "row", "col"]], a[["frame", "row", "col"]], atol=1e-6)
    np.testing.assert_allclose(
        b[["z_mean_1", "z_mean_2"]], a[["z_mean_1", "z_mean_2"]], rtol=1e-5, atol=1e-5
    )
    with (
        np.load(tmp_path / "streamed" / "stack" / "stack_maps.npz") as streamed,
        np.load(tmp_path / "memory" / "stack" / "stack_maps.npz") as in_memory,
    ):
        assert sorted(streamed.files) == sorted(in_memory.files)
        assert streamed["angle"].shape == stack.shape
        for key in in_memory.files:
            np.testing.assert_allclose(
                streamed[key], in_memory[key], atol=1e-4, equal_nan=True, err_msg=key
            )
    assert (
        main(
            [
                "batch",
                str(model),
                str(tmp_path / "stack.npy"),
                "--maps",
                "tif",
                "--out",
                str(tmp_path / "tifs"),
            ]
        )
        == 0
    )
    with np.load(tmp_path / "memory" / "stack" / "stack_maps.npz") as in_memory:
        np.testing.assert_allclose(
            tifffile.imread(tmp_path / "tifs" / "stack" / "stack_dx.tif"),
            in_memory["dx"],
            atol=1e-4,
            equal_nan=True,
        )
    assert (
        sorted(p.name for p in (tmp_path / "tifs" / "stack").iterdir() if p.name.startswith("."))
        == []
    )


def test_settings_come_from_the_model_bundle():
    from types import SimpleNamespace

    from napari_ivae.cli._batch import pipeline_settings

    config = SimpleNamespace(patch_shape=(24, 24))
    napari_model = SimpleNamespace(
        config=config,
        metadata={
            "patch_params": {"source": "points", "size": 24, "normalize": "patch"},
            "detection": {
                "role": "detections_particles",
                "widget_settings": {
                    "mode": "particles",
                    "method": "log",
                    "polarity": "dark",
                    "spacing": None,
                },
            },
        },
    )
    settings = pipeline_settings(napari_model)
    assert settings["mode"] == "particles" and settings["normalize"] == "patch"
    assert settings["detect"] == {"polarity": "dark", "method": "log"}
    atoms = SimpleNamespace(
        config=config,
        metadata={
            "detection": {
                "widget_settings": {
                    "mode": "atoms",
                    "spacing": 11.5,
                    "sigma": None,
                    "refine": "none",
                    "polarity": "auto",
                    "crystal_only": False,
                }
            }
        },
    )
    assert pipeline_settings(atoms)["detect"] == {
        "invert": None,
        "spacing": 11.5,
        "refine": None,
        "crystal_only": False,
    }
    grid = SimpleNamespace(
        config=config,
        metadata={"patch_params": {"source": "grid", "stride": 6, "normalize": "global"}},
    )
    assert pipeline_settings(grid)["source"] == "grid"
    assert pipeline_settings(grid)["stride"] == 6
    old_cli = SimpleNamespace(config=config, metadata={"normalization": {"mode": "global"}})
    settings = pipeline_settings(old_cli, grid=8)
    assert (settings["source"], settings["stride"], settings["normalize"]) == ("grid", 8, "global")
    assert pipeline_settings(old_cli)["source"] == "points"
    assert pipeline_settings(old_cli, mode="particles")["detect"] == {"polarity": "auto"}


def test_grid_model_gives_the_step_by_step_results(tmp_path):
    image = tmp_path / "im.npy"
    np.save(image, _lattice(2, (96, 96)))
    assert (
        main(
            [
                "patches",
                str(image),
                "--grid",
                "8",
                "--size",
                str(SIZE),
                "--normalize",
                "global",
                "--out",
                str(tmp_path / "p.npz"),
            ]
        )
        == 0
    )
    model = tmp_path / "shift.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "shift-vae",
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(model),
                "--epochs",
                "1",
                "--hidden",
                "16",
                "--quiet",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "encode",
                str(model),
                "--patches",
                str(tmp_path / "p.npz"),
                "--out",
                str(tmp_path / "e.npz"),
            ]
        )
        == 0
    )
    assert main(["batch", str(model), str(image), "--out", str(tmp_path / "res")]) == 0
    table = pd.read_csv(tmp_path / "res" / "im" / "im.csv")
    expected = np.load(tmp_path / "e.npz")
    np.testing.assert_array_equal(table[["row", "col"]], expected["centres"])
    assert {"shift_row", "shift_col"} <= set(table.columns)  # registered on the lattice
    np.testing.assert_allclose(
        table[["z_mean_1", "z_mean_2"]], expected["z_mean"], rtol=1e-5, atol=1e-5
    )


def _particles(seed, shape=(128, 128)):
    """25 bright round particles (Gaussian profile, sigma 3 px) on a dark background."""
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape)
    image = rng.normal(0, 0.05, shape)
    for r in range(16, shape[0] - 12, 24):
        for c in range(16, shape[1] - 12, 24):
            r0, c0 = r + rng.integers(-3, 4), c + rng.integers(-3, 4)
            image += np.exp(-((rows - r0) ** 2 + (cols - c0) ** 2) / 18)
    return image.astype(np.float32)


def test_a_model_on_detected_particles_detects_particles_in_batch(tmp_path, capsys):
    """detect --mode particles -> patches -> train -> batch: the points' mode comes with the
    patches into the model, so batch finds particles (it detected atoms and failed)."""
    np.save(tmp_path / "train.npy", _particles(0))
    np.save(tmp_path / "new.npy", _particles(1))
    csv, npz, model = tmp_path / "p.csv", tmp_path / "p.npz", tmp_path / "m.ivae.pt"
    steps = [
        ["detect", str(tmp_path / "train.npy"), "--mode", "particles", "--out", str(csv)],
        ["patches", str(tmp_path / "train.npy"), "--points", str(csv), "--size", "16"]
        + ["--out", str(npz)],
        ["train", "--model", "rvae", "--patches", str(npz), "--out", str(model)]
        + ["--epochs", "1", "--hidden", "16", "--quiet"],
    ]
    for step in steps:
        assert main(step) == 0
    assert json.loads(str(np.load(npz)["patch_params"]))["points_mode"] == "particles"
    capsys.readouterr()
    out = tmp_path / "res"
    assert main(["batch", str(model), str(tmp_path / "new.npy"), "--out", str(out)]) == 0
    assert "particles detected in each image" in capsys.readouterr().err
    table = pd.read_csv(out / "new" / "new.csv")
    assert len(table) == 25 and "equivalent_diameter" in table.columns


def test_spacing_and_polarity_given_to_batch_override_the_model_s():
    from types import SimpleNamespace

    from napari_ivae.cli._batch import pipeline_settings
    from napari_ivae.core.errors import InputError

    config = SimpleNamespace(patch_shape=(24, 24))
    stored = {"mode": "atoms", "spacing": 11.5, "polarity": "bright"}
    atoms = SimpleNamespace(config=config, metadata={"detection": {"widget_settings": stored}})
    assert pipeline_settings(atoms)["detect"] == {"invert": False, "spacing": 11.5}
    given = pipeline_settings(atoms, spacing=7.0, polarity="dark")["detect"]
    assert given == {"invert": True, "spacing": 7.0}
    plain = SimpleNamespace(config=config, metadata={})  # trained on `napari-ivae patches`
    assert pipeline_settings(plain, spacing=9.0)["detect"] == {"invert": None, "spacing": 9.0}
    particles = pipeline_settings(plain, mode="particles", polarity="dark")
    assert particles["detect"] == {"polarity": "dark"}
    with pytest.raises(InputError, match="--spacing is for atoms"):
        pipeline_settings(plain, mode="particles", spacing=9.0)
    with pytest.raises(InputError, match="--spacing must be at least 2 px"):
        pipeline_settings(plain, spacing=1.0)


def test_batch_spacing_reaches_the_detection_of_every_image(model, tmp_path, monkeypatch, capsys):
    import napari_ivae.core.detection.atoms as atoms

    asked = []
    detect_atoms = atoms.detect_atoms

    def spy(image, **options):
        asked.append(options.get("spacing"))
        return detect_atoms(image, **options)

    monkeypatch.setattr(atoms, "detect_atoms", spy)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        np.save(folder / f"img_{i}.npy", _lattice(i))
    out = tmp_path / "results"
    assert main(["batch", str(model), str(folder), "--out", str(out), "--spacing", "10"]) == 0
    assert asked == [10.0, 10.0]
    assert "spacing 10.0" in capsys.readouterr().err  # the first line lists it
    record = json.loads((out / "img_0" / "batch.json").read_text())
    assert record["options"]["settings"]["detect"]["spacing"] == 10.0
    # another spacing is another result: the images are done again, not skipped
    assert main(["batch", str(model), str(folder), "--out", str(out), "--spacing", "9.5"]) == 0
    assert asked[2:] == [9.5, 9.5]


def test_the_spacing_error_names_the_option_to_give():
    from napari_ivae.cli import cli_spelling
    from napari_ivae.core.detection.spacing import estimate_spacing
    from napari_ivae.core.errors import InputError

    with pytest.raises(InputError) as info:  # noise: no lattice to measure
        estimate_spacing(np.random.default_rng(0).random((128, 128)))
    assert "Give the spacing explicitly (--spacing PX)." in cli_spelling(str(info.value))


def test_a_folder_s_files_in_other_microscope_formats_are_named_not_passed_over(
    model, tmp_path, capsys
):
    """A folder as a microscope leaves it: an STM .dat and an .hdf5 beside the .npy copies.
    The batch did the .npy and said nothing of the others; now one note names them."""
    folder = tmp_path / "session"
    folder.mkdir()
    np.save(folder / "img_00.npy", _lattice(0))
    (folder / "scan_01.dat").write_bytes(b"\0" * 64)
    (folder / "stack.hdf5").write_bytes(b"\x89HDF\r\n\x1a\n")
    (folder / "notes.txt").write_text("not an image in any format")
    assert main(["batch", str(model), str(folder), "--out", str(tmp_path / "out")]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 1, notes
    assert "left out 2 files" in notes[0] and "scan_01.dat, stack.hdf5" in notes[0]
    assert "notes.txt" not in notes[0]


def test_batch_keeps_the_particle_size_floor_the_model_s_points_were_detected_with():
    from types import SimpleNamespace

    from napari_ivae.cli._batch import pipeline_settings

    config = SimpleNamespace(patch_shape=(24, 24))

    def detect(chosen):
        bundle = SimpleNamespace(config=config, metadata={"detection": {"widget_settings": chosen}})
        return pipeline_settings(bundle)["detect"]

    assert detect({"mode": "particles", "min_size": 40}) == {"polarity": "auto", "min_size": 40}
    for auto in (0, None):  # the dock's 0: automatic
        assert detect({"mode": "particles", "min_size": auto}) == {"polarity": "auto"}
