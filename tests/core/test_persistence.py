"""Model bundles: faithful round trip, safe loading, clear errors on bad files."""

import pickle
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from napari_ivae.core.errors import InputError, ModelFileError
from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
from napari_ivae.core.models.inference import encode
from napari_ivae.core.models.persistence import FORMAT_VERSION, load_model, read_bundle, save_model

PATCH = (12, 12)


def _model(kind="rvae", **overrides):
    torch.manual_seed(0)
    extra = {"n_classes": 2, "class_names": ("round", "square")} if kind == "ss-rvae" else {}
    config = ModelConfig(kind=kind, patch_shape=PATCH, hidden=(16,), **extra, **overrides)
    model = build_model(config)
    model.fit_normalization(np.random.default_rng(0).uniform(-2, 5, (4, *PATCH)))
    with torch.no_grad():  # make the weights differ from a fresh build
        for p in model.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def _fake_result(seed=11):
    return SimpleNamespace(
        history=[{"epoch": 1, "loss": 3.5}, {"epoch": 2, "loss": 2.5}],
        seed=seed,
        device="cpu",
        timings={"train_s": 1.25},
        stopped=True,
        train_config=TrainConfig(epochs=2, batch_size=8, lr=1e-3, seed=seed),
    )


def _encode(model, x):
    return list(encode(model, x).as_dict().values())


@pytest.mark.parametrize("kind", ["vae", "rvae", "shift-vae", "ss-rvae"])
def test_round_trip_gives_identical_model(tmp_path, kind):
    model = _model(kind)
    path = save_model(
        tmp_path / "m.ivae.pt",
        model,
        _fake_result(),
        metadata={"normalization": {"mode": "patch"}, "source": "unit test"},
    )
    bundle = load_model(path)
    assert bundle.config == model.config
    x = np.random.default_rng(1).uniform(-2, 5, (5, *PATCH)).astype(np.float32)
    before, after = _encode(model, x), _encode(bundle.model, x)
    assert len(before) == len(after) >= 2
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert not bundle.model.training
    meta = bundle.metadata
    assert meta["format_version"] == FORMAT_VERSION and meta["kind"] == kind
    assert meta["seed"] == 11 and meta["device"] == "cpu" and meta["stopped"] is True
    assert meta["patch_shape"] == list(PATCH)
    assert meta["history"][-1]["loss"] == 2.5
    assert meta["normalization"] == {"mode": "patch"} and meta["source"] == "unit test"
    assert meta["model_normalization"]["scale"] == pytest.approx(7, abs=0.1)
    assert {"napari_ivae", "torch", "python"} <= set(meta["versions"])
    assert meta["created"].endswith("+00:00")
    assert bundle.train_config.seed == 11 and bundle.train_config.epochs == 2
    if kind == "ss-rvae":
        assert meta["class_names"] == ["round", "square"]


def test_save_without_result_and_odd_metadata(tmp_path):
    metadata = {
        "array": np.arange(3),
        "scalar": np.float32(2.5),
        "path": tmp_path,
        "object": object(),
    }
    save_model(tmp_path / "m.ivae.pt", _model("vae"), metadata=metadata)
    bundle = load_model(tmp_path / "m.ivae.pt")
    assert bundle.train_config is None and bundle.metadata["history"] == []
    assert bundle.metadata["array"].tolist() == [0, 1, 2]
    assert bundle.metadata["scalar"] == 2.5 and bundle.metadata["path"] == str(tmp_path)
    assert bundle.metadata["object"].startswith("<object")


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.ivae.pt")
    with pytest.raises(ModelFileError, match="folder"):
        load_model(tmp_path)


def test_truncated_and_garbage_files(tmp_path):
    path = save_model(tmp_path / "m.ivae.pt", _model())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="corrupt or truncated"):
        load_model(path)
    path.write_bytes(b"this is not a model at all" * 10)
    with pytest.raises(ModelFileError, match="corrupt"):
        load_model(path)


def test_foreign_files(tmp_path):
    tensor_file = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), tensor_file)
    with pytest.raises(ModelFileError, match="not a napari-ivae model bundle"):
        load_model(tensor_file)
    state_file = tmp_path / "state.pt"
    torch.save(_model().state_dict(), state_file)
    with pytest.raises(ModelFileError, match="bare state_dict"):
        load_model(state_file)


def test_newer_format_version(tmp_path):
    path = save_model(tmp_path / "m.ivae.pt", _model())
    bundle = read_bundle(path)
    bundle["format_version"] = FORMAT_VERSION + 1
    torch.save(bundle, path)
    with pytest.raises(ModelFileError, match="newer napari-ivae.*upgrade"):
        load_model(path)


def test_weights_that_do_not_fit_the_configuration(tmp_path):
    path = save_model(tmp_path / "m.ivae.pt", _model())
    bundle = read_bundle(path)
    bundle["model_config"]["latent_dim"] = 5
    torch.save(bundle, path)
    with pytest.raises(ModelFileError, match="do not match"):
        load_model(path)
    bundle["model_config"]["kind"] = "transformer"
    torch.save(bundle, path)
    with pytest.raises(ModelFileError, match="configuration"):
        load_model(path)


class _Exploit:
    """Unpickling this would create a file: the stand-in for arbitrary code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_that_would_run_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    zipped = tmp_path / "evil.ivae.pt"
    torch.save({"format": "napari-ivae-model", "payload": _Exploit(marker)}, zipped)
    legacy = tmp_path / "evil_legacy.pt"
    with open(legacy, "wb") as stream:
        pickle.dump({"format": "napari-ivae-model", "payload": _Exploit(marker)}, stream)
    for path in (zipped, legacy):
        with pytest.raises(ModelFileError, match="not loaded"):
            load_model(path)
    assert not marker.exists()


def test_atomic_write_keeps_the_old_file_on_failure(tmp_path, monkeypatch):
    path = save_model(tmp_path / "m.ivae.pt", _model("vae"))
    good = path.read_bytes()

    def crash(obj, stream):
        stream.write(b"half a model")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, _model("rvae"))
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.ivae.pt"]  # no temp file left
    assert load_model(path).config.kind == "vae"


def test_bad_save_targets(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        save_model(tmp_path / "missing" / "m.ivae.pt", _model())
    with pytest.raises(InputError, match="folder"):
        save_model(tmp_path, _model())
    with pytest.raises(InputError, match="napari-ivae model"):
        save_model(tmp_path / "x.ivae.pt", torch.nn.Linear(2, 2))


def test_a_model_is_never_written_over_a_file_that_is_not_a_model(tmp_path):
    """Scripts as the CLI and the Results dock: a name not ending in .pt (a picture, a
    table) is refused and the file stays as it was."""
    picture = tmp_path / "micrograph.png"
    picture.write_bytes(b"PNG pixels")
    with pytest.raises(InputError, match="a model file ends in .pt"):
        save_model(picture, _model())
    assert picture.read_bytes() == b"PNG pixels"
    assert [p.name for p in tmp_path.iterdir()] == ["micrograph.png"]
