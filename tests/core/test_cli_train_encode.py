"""`napari-ivae train` / `napari-ivae encode`: round trips, Ctrl-C, and bad input files."""

import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from napari_ivae.cli import main
from napari_ivae.core.models.inference import encode
from napari_ivae.core.models.persistence import load_model
from napari_ivae.core.synthetic.cards import make_cards

SIZE = 16
TINY = ["--epochs", "1", "--hidden", "16", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    cards = make_cards(8, size=SIZE, rotation=45, translation=0.05, seed=2)
    labels = cards.labels.copy()
    labels[2::3] = -1
    np.save(root / "patches.npy", cards.images)
    np.savez(root / "patches.npz", patches=cards.images, centres=np.arange(64.0).reshape(32, 2))
    np.save(root / "labels.npy", labels)
    return root


@pytest.fixture(scope="module")
def rvae_file(files):
    out = files / "rvae.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "rvae",
                "--patches",
                str(files / "patches.npy"),
                "--out",
                str(out),
                "--seed",
                "3",
                *TINY,
            ]
        )
        == 0
    )
    return out


def test_train_then_encode_rvae(files, rvae_file):
    bundle = load_model(rvae_file)
    assert bundle.config.kind == "rvae" and bundle.config.patch_shape == (SIZE, SIZE)
    assert bundle.metadata["seed"] == 3 and bundle.train_config.epochs == 1
    assert bundle.metadata["n_patches"] == 32 and not bundle.metadata["stopped"]
    out = files / "rvae_latents.npz"
    assert (
        main(["encode", str(rvae_file), "--patches", str(files / "patches.npz"), "--out", str(out)])
        == 0
    )
    latents = np.load(out)
    assert latents["z_mean"].shape == (32, 2) and latents["z_std"].shape == (32, 2)
    assert latents["angle"].shape == (32,) and latents["offsets"].shape == (32, 2)
    assert "class_prob" not in latents.files
    np.testing.assert_array_equal(latents["centres"], np.arange(64.0).reshape(32, 2))
    expected = encode(bundle.model, np.load(files / "patches.npy"))
    np.testing.assert_allclose(latents["z_mean"], expected.z_mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(latents["angle"], expected.angle, rtol=1e-5, atol=1e-6)


def test_encode_with_clusters_adds_unsupervised_classes(files, rvae_file):
    out = files / "clustered.npz"
    argv = [
        "encode",
        str(rvae_file),
        "--patches",
        str(files / "patches.npy"),
        "--out",
        str(out),
        "--clusters",
        "3",
        "--cluster-seed",
        "5",
    ]
    assert main(argv) == 0
    latents = np.load(out)
    assert latents["cluster"].shape == (32,) and set(latents["cluster"]) == {0, 1, 2}
    assert int(latents["cluster_seed"]) == 5
    sizes = np.bincount(latents["cluster"])
    assert (np.diff(sizes) <= 0).all()  # numbered by decreasing size
    assert main(argv) == 0  # same seed, same classes
    np.testing.assert_array_equal(np.load(out)["cluster"], latents["cluster"])


def test_train_then_encode_ss_rvae(files):
    out = files / "ss.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "ss-rvae",
                "--patches",
                str(files / "patches.npy"),
                "--labels",
                str(files / "labels.npy"),
                "--out",
                str(out),
                "--class-names",
                "clubs,spades,hearts,diamonds",
                *TINY,
            ]
        )
        == 0
    )
    latents_path = files / "ss_latents.npz"
    assert (
        main(
            [
                "encode",
                str(out),
                "--patches",
                str(files / "patches.npy"),
                "--out",
                str(latents_path),
            ]
        )
        == 0
    )
    latents = np.load(latents_path)
    assert latents["class_prob"].shape == (32, 4)
    np.testing.assert_allclose(latents["class_prob"].sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(latents["class"], latents["class_prob"].argmax(axis=1))
    assert latents["class_names"].tolist() == ["clubs", "spades", "hearts", "diamonds"]
    assert load_model(out).metadata["n_labeled"] == int((np.load(files / "labels.npy") >= 0).sum())


def test_plain_vae_has_no_geometry(files):
    out = files / "vae.ivae.pt"
    assert (
        main(
            [
                "train",
                "--model",
                "vae",
                "--patches",
                str(files / "patches.npy"),
                "--out",
                str(out),
                *TINY,
            ]
        )
        == 0
    )
    latents_path = files / "vae_latents.npz"
    assert (
        main(
            [
                "encode",
                str(out),
                "--patches",
                str(files / "patches.npy"),
                "--out",
                str(latents_path),
            ]
        )
        == 0
    )
    assert {"angle", "offsets", "class_prob"}.isdisjoint(np.load(latents_path).files)


def test_console_script_ctrl_c_saves_partial_model(files):
    script = shutil.which("napari-ivae")
    command = [script] if script else [sys.executable, "-m", "napari_ivae.cli"]
    out = files / "interrupted.ivae.pt"
    proc = subprocess.Popen(
        [
            *command,
            "train",
            "--model",
            "rvae",
            "--patches",
            str(files / "patches.npy"),
            "--out",
            str(out),
            "--epochs",
            "100000",
            "--hidden",
            "16",
            "--batch-size",
            "16",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = []
    deadline = time.monotonic() + 60
    for line in proc.stderr:  # wait until training is under way
        seen.append(line)
        if line.startswith("epoch 1/100000") or time.monotonic() > deadline:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    text = "".join(seen) + rest
    assert proc.returncode == 130, text
    assert "partial model saved" in text
    bundle = load_model(out)
    assert bundle.metadata["stopped"] is True and bundle.metadata["history"]


def _bad_inputs(root):
    np.save(root / "flat.npy", np.zeros((16, 16), np.float32))
    nan = np.zeros((4, SIZE, SIZE), np.float32)
    nan[1, 2, 3] = np.nan
    np.save(root / "nan.npy", nan)
    np.save(root / "short_labels.npy", np.zeros(5, np.int64))
    np.savez(root / "nokey.npz", images=np.zeros((4, SIZE, SIZE)))
    np.save(root / "big.npy", np.zeros((4, 20, 20), np.float32))
    (root / "patches.txt").write_text("1 2 3\n")
    (root / "garbage.ivae.pt").write_bytes(b"not a model")


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["train", "--model", "rvae", "--patches", "{r}/missing.npy", "--out", "{r}/m.ivae.pt"],
            "not found",
        ),
        (
            ["train", "--model", "rvae", "--patches", "{r}/patches.txt", "--out", "{r}/m.ivae.pt"],
            "unsupported format",
        ),
        (
            ["train", "--model", "rvae", "--patches", "{r}/flat.npy", "--out", "{r}/m.ivae.pt"],
            "stack",
        ),
        (["train", "--model", "rvae", "--patches", "{r}/nan.npy", "--out", "{r}/m.ivae.pt"], "NaN"),
        (
            ["train", "--model", "rvae", "--patches", "{r}/nokey.npz", "--out", "{r}/m.ivae.pt"],
            "no array 'patches'",
        ),
        (
            [
                "train",
                "--model",
                "ss-rvae",
                "--patches",
                "{r}/patches.npy",
                "--labels",
                "{r}/short_labels.npy",
                "--out",
                "{r}/m.ivae.pt",
            ],
            "32 patches",
        ),
        (
            [
                "train",
                "--model",
                "ss-rvae",
                "--patches",
                "{r}/patches.npy",
                "--out",
                "{r}/m.ivae.pt",
            ],
            "needs --labels",
        ),
        (
            [
                "train",
                "--model",
                "rvae",
                "--patches",
                "{r}/patches.npy",
                "--out",
                "{r}/no/m.ivae.pt",
            ],
            "does not exist",
        ),
        (
            ["encode", "{r}/rvae.ivae.pt", "--patches", "{r}/big.npy", "--out", "{r}/e.npz"],
            "model expects 16x16",
        ),
        (
            ["encode", "{r}/garbage.ivae.pt", "--patches", "{r}/patches.npy", "--out", "{r}/e.npz"],
            "corrupt",
        ),
        (
            ["encode", "{r}/none.ivae.pt", "--patches", "{r}/patches.npy", "--out", "{r}/e.npz"],
            "not found",
        ),
        (
            [
                "encode",
                "{r}/rvae.ivae.pt",
                "--patches",
                "{r}/patches.npy",
                "--out",
                "{r}/e.npz",
                "--clusters",
                "1",
            ],
            "--clusters must be",
        ),
        (
            [
                "encode",
                "{r}/rvae.ivae.pt",
                "--patches",
                "{r}/patches.npy",
                "--out",
                "{r}/e.npz",
                "--clusters",
                "40",
            ],
            "cannot make 40 clusters",
        ),
    ],
)
def test_bad_input_files_exit_2_with_one_line(files, rvae_file, capsys, argv, expected):
    _bad_inputs(files)
    argv = [a.format(r=files) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"napari-ivae {argv[0]}: error:") and expected in err, err
    assert not (files / "m.ivae.pt").exists()


@pytest.mark.parametrize("keep", [False, True])
def test_train_rvae_on_grey_patches_codes_the_shape_unless_told(tmp_path, keep):
    rng = np.random.default_rng(0)
    grey = (1000.0 + 50.0 * rng.standard_normal((32, SIZE, SIZE))).astype(np.float32)
    np.save(tmp_path / "grey.npy", grey)
    out = tmp_path / "grey.ivae.pt"
    flag = ["--keep-brightness"] if keep else []
    args = ["train", "--model", "rvae", "--patches", str(tmp_path / "grey.npy"), "--out", str(out)]
    assert main([*args, *flag, *TINY]) == 0
    bundle = load_model(out)
    assert bundle.config.intensity_invariant is (False if keep else None)
    assert bool(bundle.model.standardized) is not keep


def test_train_never_writes_its_model_over_a_picture_or_table(tmp_path, capsys):
    """'train --out image.png' replaced the user's micrograph with a model file; the model
    file must end in .pt, the file named stays as it was."""
    np.save(tmp_path / "p.npy", np.random.default_rng(0).random((40, 16, 16)).astype(np.float32))
    for name in ("micrograph.png", "atoms.csv"):
        theirs = tmp_path / name
        theirs.write_bytes(b"the user's own file")
        args = [
            "train",
            "--model",
            "vae",
            "--patches",
            str(tmp_path / "p.npy"),
            "--out",
            str(theirs),
        ]
        assert main([*args, "--epochs", "1"]) == 2
        assert "--out must end in .pt" in capsys.readouterr().err
        assert theirs.read_bytes() == b"the user's own file"


def test_jrvae_with_more_classes_than_patches_is_refused_before_training(tmp_path, capsys):
    """16 patches, --classes 20: the error came after the warm-up epochs, naming 'clusters'
    ('cannot make 20 clusters from 16 distinct codes'); now at once, naming --classes."""
    np.save(tmp_path / "p.npy", np.random.default_rng(0).random((16, 16, 16)).astype(np.float32))
    args = ["train", "--model", "jrvae", "--classes", "20", "--patches", str(tmp_path / "p.npy")]
    assert main([*args, "--out", str(tmp_path / "j.ivae.pt"), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "--classes 20 is more than the 16 patches" in err, err
    assert "epoch 1/2" not in err and not (tmp_path / "j.ivae.pt").exists()
