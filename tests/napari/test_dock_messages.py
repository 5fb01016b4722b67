"""What the dock user reads: messages that name the dock's own controls (or the action to take
in the viewer), never an option of the command line, which a napari user cannot give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_ivae._widgets.detect import widget_spelling


def _atoms(points, *, snr=10.0, **params):
    from napari_ivae.core.detection.detections import make_detections

    table = pd.DataFrame(
        {"row": points[:, 0], "col": points[:, 1], "snr": np.full(len(points), snr)}
    )
    return make_detections(table, params={"spacing": 10.0, "spacing_source": "auto", **params})


def _particles(diameters):
    from napari_ivae.core.detection.detections import make_detections

    n = len(diameters)
    table = pd.DataFrame(
        {"row": np.arange(n) * 20.0, "col": np.zeros(n), "equivalent_diameter": diameters}
    )
    return make_detections(table, params={"resolved": {"polarity": "bright"}})


def _core_messages() -> list[str]:
    """Every warning and note of the detections' self-check, and the detectors' messages that name
    an option, as the core words them."""
    from napari_ivae.core.detection import quality, quality_particles
    from napari_ivae.core.detection.particles import detect_particles
    from napari_ivae.core.detection.spacing import check_given_spacing
    from napari_ivae.core.errors import InputError

    rng = np.random.default_rng(0)
    lattice = np.stack(np.meshgrid(np.arange(6) * 10.0, np.arange(6) * 10.0), -1).reshape(-1, 2)
    messages = []
    messages += quality.assess(
        _atoms(lattice[:5], snr=1.0, spacing_source="blob scale (no lattice periodicity)"),
        "atoms",
    )["warnings"]  # blob scale, low SNR, few atoms
    messages += quality.assess(_atoms(rng.uniform(0, 200, (40, 2))), "atoms")["warnings"]
    for given in (False, True):
        messages += quality._annotation_note(120, {}, given)
    messages += quality.assess(_particles([5.0, 6.0]), "particles")["warnings"]
    messages += quality.assess(_particles([2.0, 3.0, 40.0, 2.5, 60.0]), "particles")["warnings"]
    messages += quality_particles._edge_only_warning(5, 20.0)  # nothing kept inside the frame
    sparse = _particles([5.0])
    messages += quality_particles._sparse_warning(  # a packed layer's patches missed
        sparse, {"layer_cells": 100.0, "layer_share": 0.5}, {}
    )
    blank = rng.normal(0, 0.01, (64, 64)).astype(np.float32)
    messages.append(detect_particles(blank, min_size=10**6).message)
    with pytest.raises(InputError) as refused:
        check_given_spacing(900.0, (160, 160))
    messages.append(str(refused.value))
    assert len(messages) >= 10, messages
    return messages


def test_detect_dock_messages_name_no_command_line_option():
    """The threshold, the exclusion mask and the minimum size exist on the command line only:
    the dock said 'the command line's --threshold' etc.; it now says what to do in the
    viewer (every other option is named as the dock's control)."""
    for message in _core_messages():
        shown = widget_spelling(message)
        assert "--" not in shown and "command line" not in shown, (message, shown)
        assert "min_size" not in shown and "method=" not in shown, (message, shown)
    low_lattice = widget_spelling(
        "the spacing may be wrong (--spacing) or the threshold too low (--threshold)"
    )
    assert "'spacing (px)'" in low_lattice and "'smoothing σ'" in low_lattice, low_lattice
    from napari_ivae.core.detection.quality import _annotation_note

    bar = widget_spelling(_annotation_note(120, {}, False)[0])
    assert "masked" in bar and "select its points and delete them" in bar, bar


def test_results_dock_names_the_learning_rate_not_the_option(viewer, tmp_path):
    """A model file with NaN weights: the Results dock's Load says which dock's field to
    lower, not the command line's --lr."""
    import torch
    from napari_helpers import open_widget

    from napari_ivae.core.models import ModelConfig
    from napari_ivae.core.models.factory import build_model
    from napari_ivae.core.models.persistence import save_model

    saved = save_model(
        tmp_path / "m.ivae.pt", build_model(ModelConfig(kind="rvae", patch_shape=(16, 16)))
    )
    bundle = torch.load(saved, weights_only=True)
    name = next(k for k, v in bundle["state_dict"].items() if v.is_floating_point())
    bundle["state_dict"][name] = torch.full_like(bundle["state_dict"][name], float("nan"))
    torch.save(bundle, saved)
    results = open_widget(viewer, "Results")
    results.model_file.value = str(saved)
    assert results.load() is None
    shown = results.status.value
    assert "NaN" in shown and "--" not in shown, shown
    assert "'learning rate'" in shown and "Train" in shown, shown


def _lazy_lattice_with_a_hole(frames=None):
    import dask.array as da

    from napari_ivae.core.synthetic.lattice import make_lattice

    image = make_lattice((128, 128), spacing=8.0, seed=0).image.astype(np.float32)
    image[10:30, 10:30] = np.nan  # 400 missing pixels
    if frames:
        image = np.stack([image] * frames)
        return da.from_array(image, chunks=(1, 64, 64))
    return da.from_array(image, chunks=(64, 64))


@pytest.mark.parametrize("frames", [None, 2])
def test_detect_dock_says_it_filled_nan_pixels_of_a_lazy_image(viewer, qtbot, frames):
    """A dask-backed image with NaN pixels: the dock said so for an image in memory and
    nothing for a lazy one; now both say how many pixels were filled (a stack: all frames)."""
    from napari_helpers import open_widget

    layer = viewer.add_image(_lazy_lattice_with_a_hole(frames), name="lazy")
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.image.value = layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=60000)
    total = 400 * (frames or 1)
    assert f"{total} NaN/inf pixels (missing data) were replaced" in detect.status.value, (
        detect.status.value
    )
    points = np.asarray(viewer.layers["lazy atoms [ivae]"].data)[:, -2:]
    assert len(points) > 100 and np.isfinite(points).all()


def test_apply_to_a_lazy_image_fills_its_nan_pixels_and_says_so(viewer, qtbot):
    """Apply on a dask-backed image with NaN pixels: the image is filled as read before the
    detection and the patches (finite patches, whatever value range cuts them), and the
    Results status says how many pixels were filled (it said nothing)."""
    from napari_helpers import open_widget

    from napari_ivae._widgets._session import get_session
    from napari_ivae.core.models import ModelConfig
    from napari_ivae.core.models.factory import build_model
    from napari_ivae.core.models.persistence import ModelBundle

    config = ModelConfig(kind="rvae", patch_shape=(12, 12), latent_dim=2)
    model = build_model(config).eval()
    metadata = {"patch_params": {"normalize": "global", "source": "points"}}
    get_session(viewer).update(bundle=ModelBundle(model, config, None, metadata))
    layer = viewer.add_image(_lazy_lattice_with_a_hole(), name="lazy")
    results = open_widget(viewer, "Results")
    results.apply_image.reset_choices()
    results.apply_image.value = layer
    results.apply_button.clicked.emit()
    qtbot.waitUntil(lambda: results.apply_button.enabled and not results.busy, timeout=60000)
    shown = results.status.value
    assert "applied the model" in shown and "400 NaN/inf pixels" in shown, shown
    from napari_ivae import _layers
    from napari_ivae._widgets._apply import _compute_apply_snapshot

    applied = _compute_apply_snapshot(get_session(viewer).bundle, _layers.image_snapshot(layer))
    assert np.isfinite(np.asarray(applied.patchset.patches)).all()
    assert len(applied.detections) > 100 and applied.notes.startswith("400 NaN/inf pixels")


@pytest.mark.parametrize("lazy", [False, True])
def test_patches_dock_names_its_patch_size_when_every_patch_crosses_the_border(viewer, lazy):
    """Every patch crosses the border: the core's advice named its ``border="flag"``
    argument, which the dock has not; the dock names its own field."""
    import dask.array as da
    from napari_helpers import open_widget

    image = np.random.default_rng(0).normal(size=(64, 64)).astype(np.float32)
    layer = viewer.add_image(da.from_array(image, chunks=32) if lazy else image, name="img")
    points = viewer.add_points(np.array([[10.0, 10.0], [50.0, 52.0]]), name="pts")
    patches = open_widget(viewer, "Patches and labels")
    patches.image.value, patches.points.value = layer, points
    patches.size.value = 32  # every point nearer the border than 16 px
    assert patches.extract() is None
    shown = patches.status.value
    assert "cross the border" in shown and "'patch size (0 = auto)'" in shown, shown
    assert "border=" not in shown, shown


@pytest.mark.parametrize("invert", [False, True])
def test_detect_dock_names_the_spots_as_the_layer_shows_them(viewer, qtbot, invert):
    """Dark atoms without a lattice: 'the size of the dark spots' and 'dark atoms', with the
    dock's polarity auto or with 'invert contrast' (then the core measures bright spots, bright
    atoms, of the inverted image, which the layer shows dark)."""
    from napari_helpers import open_widget

    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[:160, :160]
    bright = rng.normal(0, 0.05, (160, 160)).astype(np.float32)
    for y, x in rng.uniform(8, 152, (120, 2)):
        bright += np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 1.5**2)).astype(np.float32)
    layer = viewer.add_image(1.0 - bright, name="dark")
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.image.value, detect.invert.value = layer, invert
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)
    shown = detect.status.value
    assert "size of the dark spots" in shown and "bright spots" not in shown, shown
    assert "dark atoms (auto)" in shown and "bright atoms" not in shown, shown


def test_a_lazy_integer_image_is_not_read_to_count_missing_pixels(monkeypatch):
    """Integers hold no NaN: only a float lazy image gets the counting pass."""
    import dask.array as da

    from napari_ivae import _layers

    counted = []
    isfinite = da.isfinite
    monkeypatch.setattr(da, "isfinite", lambda x: counted.append(x.dtype) or isfinite(x))
    image = da.from_array(np.arange(64 * 64, dtype=np.uint16).reshape(64, 64), chunks=32)
    report: dict = {}
    _layers.prepare_snapshot((image, {"channel": None}), report=report)
    assert counted == [] and report == {}
    _layers.prepare_snapshot((image.astype(np.float32), {"channel": None}), report=report)
    assert len(counted) == 1 and report == {}  # counted, none missing


@pytest.mark.parametrize("source", ["points", "grid"])
def test_apply_names_the_models_patch_size_when_no_patch_fits(viewer, qtbot, source):
    """A model of 32 px patches applied to a 24 px image: the core's advice named its patch
    size and its ``border="flag"`` argument, neither of which Apply has (the size is the
    model's); the Results status says the model's size and what to do."""
    from napari_helpers import open_widget

    from napari_ivae._widgets._session import get_session
    from napari_ivae.core.models import ModelConfig
    from napari_ivae.core.models.factory import build_model
    from napari_ivae.core.models.persistence import ModelBundle

    config = ModelConfig(kind="rvae", patch_shape=(32, 32), latent_dim=2)
    model = build_model(config).eval()
    metadata = {"patch_params": {"normalize": "global", "source": source}}
    get_session(viewer).update(bundle=ModelBundle(model, config, None, metadata))
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:24, :24]
    image = rng.normal(0, 0.02, (24, 24)).astype(np.float32)
    image += np.exp(-((yy - 12.0) ** 2 + (xx - 12.0) ** 2) / 4.5).astype(np.float32)
    layer = viewer.add_image(image, name="small")
    results = open_widget(viewer, "Results")
    results.apply_image.reset_choices()
    results.apply_image.value = layer
    results.apply_button.clicked.emit()
    qtbot.waitUntil(lambda: results.apply_button.enabled and not results.busy, timeout=60000)
    shown = results.status.value
    assert "the model cuts 32x32 px patches" in shown and "24x24 image" in shown, shown
    assert "border=" not in shown and "Choose a patch size" not in shown, shown


def test_apply_reword_covers_the_cores_border_advice():
    """Points all nearer the border than half the model's patch: the core's 'cross the
    border' advice (border="flag") is the one Apply rewords too."""
    from napari_ivae._widgets._apply import _model_size_error
    from napari_ivae.core.errors import InputError
    from napari_ivae.core.patches.cutting import extract_patches

    image = np.zeros((64, 64), np.float32)
    with pytest.raises(InputError) as caught:
        extract_patches(image, np.array([[3.0, 3.0], [60.0, 5.0]]), 32)
    assert 'border="flag"' in str(caught.value)  # the core's wording, for its API
    shown = str(_model_size_error(caught.value, 32, image.shape))
    assert "the model cuts 32x32 px patches" in shown and "border=" not in shown, shown


def test_detect_dock_finding_no_atom_says_why_and_suggests_particles(viewer, qtbot):
    """A frame with no lattice and nothing standing out (a film, a cryo-EM micrograph): the
    dock gives the core's reason, then the self-check's warnings in its own words and the hint
    to look for particles, as the command line does; not the reason alone."""
    from napari_helpers import open_widget
    from scipy import ndimage

    from napari_ivae._widgets.detect import PARTICLES_HINT

    rng = np.random.default_rng(3)
    film = ndimage.gaussian_filter(rng.normal(size=(160, 160)), 1.5).astype(np.float32)
    layer = viewer.add_image(film, name="film")
    detect = open_widget(viewer, "Detect")
    detect.live.value = False
    detect.image.value = layer
    detect.detect()
    qtbot.waitUntil(lambda: not detect.busy, timeout=300000)
    shown = detect.status.value
    assert shown.startswith("No atoms found"), shown
    assert "Check: Nothing stands out from the frame's own texture" in shown, shown
    assert shown.endswith(PARTICLES_HINT), shown
    assert "--" not in shown, shown  # the dock's controls, not the command line's options
