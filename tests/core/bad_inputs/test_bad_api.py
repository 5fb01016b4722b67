"""Bad inputs to the Python API behind the CLI (issue 12): clear ``IvaeError``s, nothing
changed, and the CLI's own spelling of core messages."""

import numpy as np
import pytest

from napari_ivae.cli import cli_spelling
from napari_ivae.core.errors import InputError, ModelFileError
from napari_ivae.core.io.image import prepare_image
from napari_ivae.core.io.imageio import write_image, write_points_csv
from napari_ivae.core.models import ModelConfig
from napari_ivae.core.models.persistence import load_model, read_bundle, save_model
from napari_ivae.core.validation import as_label_array


def test_load_model_refuses_nan_weights(ws):
    with pytest.raises(ModelFileError, match="NaN or infinite weights"):
        load_model(ws / "nan.ivae.pt")
    with pytest.raises(ModelFileError, match="not loaded"):
        read_bundle(ws / "nan.ivae.pt")


def test_save_model_converts_torch_write_errors_and_keeps_the_old_file(ws, tmp_path, monkeypatch):
    import torch

    model = load_model(ws / "model.ivae.pt").model
    path = tmp_path / "m.ivae.pt"
    path.write_bytes(b"old model")

    def failing_save(obj, stream, *args, **kwargs):
        stream.write(b"\0" * 100)
        raise RuntimeError("PytorchStreamWriter failed writing file data/0: file write failed")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(InputError, match="cannot write the model file") as info:
        save_model(path, model)
    assert "\n" not in str(info.value)
    assert path.read_bytes() == b"old model" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    "labels, match",
    [
        (np.array(["a"] * 20 + ["b"] * 20), "integers"),
        (np.array([0.5] * 40), "whole numbers"),
        (np.array([0, 1, 7] * 13 + [0]), "out of range"),
        (np.zeros(39, dtype=int), "one value per patch"),
    ],
    ids=["text", "fractions", "out-of-range", "wrong-length"],
)
def test_as_label_array_refuses(labels, match):
    with pytest.raises(InputError, match=match):
        as_label_array(labels, 40, 2)


def test_repeated_class_names_are_refused():
    with pytest.raises(InputError, match="must all differ"):
        ModelConfig(kind="ss-rvae", patch_shape=(16, 16), n_classes=2, class_names=("a", "a"))


def test_4d_message_says_what_is_missing():
    image = np.random.default_rng(0).random((2, 16, 16, 5))
    with pytest.raises(InputError, match="needs frame_axis"):
        prepare_image(image)
    with pytest.raises(InputError, match="not 3 or 4") as info:
        prepare_image(image, frame_axis=0)
    assert "needs frame_axis" not in str(info.value)


def test_write_image_refuses_unknown_suffix(tmp_path):
    with pytest.raises(InputError, match=r"\.npy, \.tif"):
        write_image(tmp_path / "a.png", np.zeros((4, 4)))
    assert list(tmp_path.iterdir()) == []


def test_write_points_csv_reports_an_unwritable_file(tmp_path):
    (tmp_path / "a.csv").mkdir()  # a folder where the file should go: the rename fails
    with pytest.raises(InputError, match="cannot write the CSV file"):
        write_points_csv(tmp_path / "a.csv", np.zeros((2, 2)))
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]


@pytest.mark.parametrize(
    "core, cli",
    [
        ("Pass frame_axis=0 for frames", "Pass --frame-axis 0 for frames"),
        ("needs frame_axis (and", "needs --frame-axis (and"),
        ('or border="flag" to keep them', "or --border flag to keep them"),
        ("channel='luminance' was given", "--channel luminance was given"),
        ("lower min_size, or", "lower --min-size, or"),
        ("with method='otsu', polarity='bright':", "with --method otsu, --polarity bright:"),
        ("two\nlines", "two lines"),
        ("left out (crystal_only=False keeps them)", "left out (--keep-non-crystal keeps them)"),
    ],
    ids=[
        "frame-axis-value",
        "frame-axis",
        "border",
        "channel",
        "min-size",
        "method",
        "lines",
        "keep-non-crystal",
    ],
)
def test_cli_spelling_of_core_messages(core, cli):
    assert cli_spelling(core) == cli


def test_write_points_csv_into_an_impossible_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="cannot create the folder"):
        write_points_csv(tmp_path / "file" / "sub" / "a.csv", np.zeros((2, 2)))


@pytest.mark.parametrize(
    "field, value",
    [
        ("label_weight", -1.0),
        ("label_weight", 0.0),
        ("label_weight", float("nan")),
        ("seed", 10**23),
        ("seed", -1),
    ],
)
def test_train_config_refuses(field, value):
    from napari_ivae.core.models import TrainConfig

    with pytest.raises(InputError, match=field):
        TrainConfig(**{field: value})
