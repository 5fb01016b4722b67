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
    """Every warning of the detections' self-check, and the detectors' messages that name
    an option, as the core words them."""
    from napari_ivae.core.detection import quality
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
        messages += quality._annotation_warning(120, {}, given)
    messages += quality.assess(_particles([5.0, 6.0]), "particles")["warnings"]
    messages += quality.assess(_particles([2.0, 3.0, 40.0, 2.5, 60.0]), "particles")["warnings"]
    blank = rng.normal(0, 0.01, (64, 64)).astype(np.float32)
    messages.append(detect_particles(blank, min_size=10**6).message)
    with pytest.raises(InputError) as refused:
        check_given_spacing(900.0, (160, 160))
    messages.append(str(refused.value))
    assert len(messages) >= 9, messages
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
    from napari_ivae.core.detection.quality import _annotation_warning

    bar = widget_spelling(_annotation_warning(120, {}, False)[0])
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
