"""Bad inputs to ``napari-ivae train`` and ``encode``: one clear line, exit 2, nothing changed.

Also what ``--epochs`` and ``--min-steps`` do, and that a model whose file cannot be written
is kept in a fallback file (issue 12).
"""

import numpy as np
import pytest
from bad_inputs_kit import TINY, assert_refused, error_line

from napari_ivae.cli import main
from napari_ivae.core.errors import InputError
from napari_ivae.core.models.persistence import load_model

P40 = ["--patches", "{ws}/p40.npy"]
OUT = ["--out", "{ws}/new.ivae.pt"]
VAE = ["--model", "vae", *P40, *OUT]
SS = ["--model", "ss-rvae", *P40, *OUT]

TRAIN = {
    # outputs that are inputs: the model silently replaced the patches (exit 0) before
    "out-is-patches": (
        ["--model", "vae", "--patches", "{ws}/p.npz", "--out", "{ws}/p.npz"],
        ["--out", "--patches", "destroy"],
    ),
    "out-is-labels": (
        ["--model", "ss-rvae", *P40, "--labels", "{ws}/labels.npy", "--out", "{ws}/labels.npy"],
        ["--out", "--labels"],
    ),
    "out-is-patches-hard-link": (
        ["--model", "vae", *P40, "--out", "{ws}/hardlink.ivae.pt"],
        ["--out", "--patches"],
    ),
    "out-is-folder": (["--model", "vae", *P40, "--out", "{ws}/folder.csv"], ["--out", "folder"]),
    "out-missing-folder": (
        ["--model", "vae", *P40, "--out", "{ws}/no/m.ivae.pt"],
        ["--out", "does not exist"],
    ),
    # numbers out of range, named by their flag
    "label-weight-negative": (
        [*SS, "--labels", "{ws}/labels.npy", "--label-weight", "-1"],
        ["--label-weight", "positive"],
    ),
    "label-weight-zero": (
        [*SS, "--labels", "{ws}/labels.npy", "--label-weight", "0"],
        ["--label-weight"],
    ),
    "label-weight-nan": (
        [*SS, "--labels", "{ws}/labels.npy", "--label-weight", "nan"],
        ["--label-weight"],
    ),
    "epochs-0": ([*VAE, "--epochs", "0"], ["--epochs", "at least 1"]),
    "epochs-negative": ([*VAE, "--epochs", "-3"], ["--epochs"]),
    "min-steps-negative": ([*VAE, "--min-steps", "-1"], ["--min-steps"]),
    "batch-size-0": ([*VAE, "--batch-size", "0"], ["--batch-size"]),
    "lr-0": ([*VAE, "--lr", "0"], ["--lr", "positive"]),
    "lr-inf": ([*VAE, "--lr", "inf"], ["--lr"]),
    "beta-negative": ([*VAE, "--beta", "-1"], ["--beta"]),
    "latent-dim-0": ([*VAE, "--latent-dim", "0"], ["--latent-dim"]),
    "translation-prior-0": ([*VAE, "--translation-prior", "0"], ["--translation-prior"]),
    "shift-scale-2": ([*VAE, "--shift-scale", "2"], ["--shift-scale"]),
    "hidden-huge": ([*VAE, "--hidden", "100000,100000"], ["--hidden", "weights"]),
    "hidden-words": ([*VAE, "--hidden", "wide"], ["--hidden", "integers"]),
    "hidden-zero": ([*VAE, "--hidden", "0,16"], ["--hidden", "at least 1"]),
    "seed-huge": ([*VAE, "--seed", "99999999999999999999999"], ["--seed", "4294967295"]),
    "seed-negative": ([*VAE, "--seed", "-1"], ["--seed"]),
    "invariances-unknown": (
        ["--model", "rvae", *P40, *OUT, "--invariances", "spin"],
        ["--invariances", "spin"],
    ),
    "device-unknown": ([*VAE, "--device", "tpu"], ["--device", "tpu"]),
    # labels
    "class-names-repeated": (
        [*SS, "--labels", "{ws}/labels.npy", "--class-names", "a,a"],
        ["--class-names", "repeats a"],
    ),
    "labels-text": ([*SS, "--labels", "{ws}/labels_str.npy"], ["labels", "not numbers"]),
    "labels-nan": ([*SS, "--labels", "{ws}/labels_nan.npy"], ["labels", "nan"]),
    "labels-wrong-length": ([*SS, "--labels", "{ws}/labels_short.npy"], ["labels", "40"]),
    "labels-beyond-class-names": (
        [*SS, "--labels", "{ws}/labels_big.npy", "--class-names", "a,b"],
        ["--class-names"],
    ),
    "ss-rvae-without-labels": (SS, ["--labels"]),
    # patches
    "patches-missing": (["--model", "vae", "--patches", "{ws}/none.npy", *OUT], ["not found"]),
    "patches-nan": (["--model", "vae", "--patches", "{ws}/p_nan.npy", *OUT], ["nan"]),
    "patches-2d": (["--model", "vae", "--patches", "{ws}/p_2d.npy", *OUT], ["(n, h, w)"]),
    "patches-too-small": (["--model", "vae", "--patches", "{ws}/p_tiny.npy", *OUT], ["too small"]),
    # an .npy saved under an .npz name: a TypeError traceback before
    "patches-npy-named-npz": (
        ["--model", "vae", "--patches", "{ws}/link_to_img.npz", *OUT],
        ["(n, h, w)", "(64, 64)"],
    ),
    # options that did nothing (exit 0, silently ignored) before
    "grid-with-patches": ([*VAE, "--grid", "8"], ["--grid", "--image"]),
    "size-with-patches": ([*VAE, "--size", "16"], ["--size", "--image"]),
    "points-with-patches": ([*VAE, "--points", "{ws}/pts.csv"], ["--points", "--image"]),
    "classes-for-vae": ([*VAE, "--classes", "3"], ["--classes", "jrvae", "--model vae"]),
    "label-weight-for-rvae": (
        ["--model", "rvae", *P40, *OUT, "--label-weight", "2"],
        ["--label-weight", "ss-rvae"],
    ),
    "keep-brightness-for-vae": ([*VAE, "--keep-brightness"], ["--keep-brightness", "rvae"]),
    "shift-scale-for-vae": ([*VAE, "--shift-scale", "0.5"], ["--shift-scale", "shift-vae"]),
    "condition-column-for-ss-rvae": (
        [*SS, "--labels", "{ws}/labels.npy", "--condition-column", "a"],
        ["--condition-column", "crvae"],
    ),
    "patches-objects": (
        ["--model", "vae", "--patches", "{ws}/p_obj.npy", *OUT],
        ["python objects"],
    ),
}

ENCODE = {
    "out-is-patches": (
        ["{ws}/model.ivae.pt", "--patches", "{ws}/p.npz", "--out", "{ws}/p.npz"],
        ["--out", "--patches", "destroy"],
    ),
    "out-links-to-patches": (
        ["{ws}/model.ivae.pt", "--patches", "{ws}/p.npz", "--out", "{ws}/link_to_p.npz"],
        ["--out", "--patches"],
    ),
    "out-wrong-suffix": (["{ws}/model.ivae.pt", *P40, "--out", "{ws}/e.npy"], ["--out", ".npz"]),
    "nan-weights": (["{ws}/nan.ivae.pt", *P40, "--out", "{ws}/e.npz"], ["nan", "not loaded"]),
    "model-missing": (["{ws}/none.ivae.pt", *P40, "--out", "{ws}/e.npz"], ["not found"]),
    "model-garbage": (["{ws}/garbage.ivae.pt", *P40, "--out", "{ws}/e.npz"], ["corrupt"]),
    "patch-size-mismatch": (
        ["{ws}/model.ivae.pt", "--patches", "{ws}/p24.npy", "--out", "{ws}/e.npz"],
        ["24x24", "16x16"],
    ),
    "batch-size-0": (
        ["{ws}/model.ivae.pt", *P40, "--out", "{ws}/e.npz", "--batch-size", "0"],
        ["--batch-size"],
    ),
    "clusters-1": (
        ["{ws}/model.ivae.pt", *P40, "--out", "{ws}/e.npz", "--clusters", "1"],
        ["--clusters"],
    ),
    "cluster-seed-huge": (
        [
            "{ws}/model.ivae.pt",
            *P40,
            "--out",
            "{ws}/e.npz",
            "--clusters",
            "2",
            "--cluster-seed",
            "99999999999999999999",
        ],
        ["--cluster-seed"],
    ),
    "device-unknown": (
        ["{ws}/model.ivae.pt", *P40, "--out", "{ws}/e.npz", "--device", "tpu"],
        ["--device", "tpu"],
    ),
    # ignored before (exit 0): a vae has no classes to compare
    "labels-for-vae": (
        ["{ws}/model.ivae.pt", *P40, "--out", "{ws}/e.npz", "--labels", "{ws}/labels.npy"],
        ["--labels", "ss-rvae", "vae model"],
    ),
    "clusters-more-than-patches": (
        ["{ws}/model.ivae.pt", *P40, "--out", "{ws}/e.npz", "--clusters", "1000"],
        ["--clusters 1000", "fewer"],
    ),
}


@pytest.mark.parametrize("argv, words", TRAIN.values(), ids=TRAIN.keys())
def test_train_refuses(ws, capsys, argv, words):
    assert_refused(ws, ["train", *argv], capsys, *words)


@pytest.mark.parametrize("argv, words", ENCODE.values(), ids=ENCODE.keys())
def test_encode_refuses(ws, capsys, argv, words):
    assert_refused(ws, ["encode", *argv], capsys, *words)


def test_epochs_are_honoured_and_the_minimum_is_said(ws, tmp_path, capsys):
    # rvae has min_steps=300 by default: `--epochs 1` trained 300 epochs without a word
    out = tmp_path / "m.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "rvae",
                "--patches",
                str(ws / "p40.npy"),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--hidden",
                "16",
            ]
        )
        == 0
    )
    assert len(load_model(out).metadata["history"]) == 1
    first = capsys.readouterr().err.splitlines()[0]
    assert "1 epoch" in first and "--min-steps 300" in first


def test_min_steps_raises_the_epochs_up_front(ws, tmp_path, capsys):
    out = tmp_path / "m.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "vae",
                "--patches",
                str(ws / "p40.npy"),
                "--out",
                str(out),
                "--epochs",
                "1",
                "--min-steps",
                "9",
                "--hidden",
                "16",
                "--batch-size",
                "20",
            ]
        )
        == 0
    )
    assert len(load_model(out).metadata["history"]) == 5  # 2 steps per epoch
    assert "raised to make at least 9 steps" in capsys.readouterr().err.splitlines()[0]


def test_a_model_that_cannot_be_saved_is_kept_beside_it(ws, tmp_path, capsys, monkeypatch):
    import napari_ivae.core.models.persistence as persistence

    real = persistence._atomic_torch_save
    out = tmp_path / "m.ivae.pt"
    out.write_bytes(b"an earlier model")

    def full_disk(obj, path):
        if path.name == "m.ivae.pt":
            raise InputError(f"cannot write the model file {path}: No space left on device")
        real(obj, path)

    monkeypatch.setattr(persistence, "_atomic_torch_save", full_disk)
    assert (
        main(
            ["train", "--model", "vae", "--patches", str(ws / "p40.npy"), "--out", str(out), *TINY]
        )
        == 2
    )
    line = error_line(capsys.readouterr().err)
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("m.recovered-")]
    assert len(kept) == 1 and kept[0].name.endswith(".ivae.pt") and str(kept[0]) in line
    assert "No space left" in line and "kept" in line
    assert load_model(kept[0]).config.kind == "vae"
    assert out.read_bytes() == b"an earlier model"


def test_encode_still_works_with_a_good_model(ws, tmp_path):
    out = tmp_path / "e.npz"
    assert (
        main(
            ["encode", str(ws / "model.ivae.pt"), "--patches", str(ws / "p.npz"), "--out", str(out)]
        )
        == 0
    )
    latents = np.load(out)
    assert latents["z_mean"].shape == (40, 2) and np.isfinite(latents["z_mean"]).all()
