"""The auto particle method's ``sensitivity``: every strength cut a particle must pass is
divided by it (1: the image's own cuts, to the bit); above 1 a fainter particle passes, below
1 the faintest is dropped; bad values and methods it does not apply to are refused; the CLI's
``--sensitivity``; the self-check names it where it is the thing to try."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from napari_ivae.cli import main
from napari_ivae.core.detection.particles import detect_particles
from napari_ivae.core.errors import InputError

FAINT_AT = (140, 140)


def _frame(faint: float) -> np.ndarray:
    """15 clear Gaussian particles (8 x the pixel noise, sigma 3 px) and one of ``faint``
    amplitude at ``FAINT_AT``, on white noise."""
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[:160, :160]
    image = rng.normal(0.0, 1.0, (160, 160))
    centres = [(r, c) for r in (25, 65, 105, 140) for c in (25, 65, 105, 140)][:-1]
    for (r, c), amplitude in zip([*centres, FAINT_AT], [8.0] * len(centres) + [faint]):
        image += amplitude * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 3.0**2))
    return image


def _finds_faint(found) -> bool:
    points = found.coords[:, 1:]
    distance = np.hypot(points[:, 0] - FAINT_AT[0], points[:, 1] - FAINT_AT[1])
    return bool(len(points)) and float(distance.min()) < 4.0


def test_sensitivity_one_is_the_default_to_the_bit():
    image = _frame(1.2)
    default, one = detect_particles(image), detect_particles(image, sensitivity=1.0)
    np.testing.assert_array_equal(default.coords, one.coords)
    np.testing.assert_array_equal(default.labels, one.labels)
    assert one.params["sensitivity"] == 1.0


def test_a_higher_sensitivity_finds_a_particle_the_default_misses():
    image = _frame(1.2)
    default = detect_particles(image)
    assert len(default) == 15 and not _finds_faint(default)
    higher = detect_particles(image, sensitivity=1.5)
    assert _finds_faint(higher) and higher.params["sensitivity"] == 1.5
    added = len(higher) - len(default)  # said, naming the knob
    assert higher.quality["measures"]["sensitivity_added"] == added
    assert any(f"found {added} particles more" in w for w in higher.quality["warnings"])
    assert not any("sensitivity" in w for w in default.quality["warnings"])


def test_a_lower_sensitivity_drops_the_faintest_particle():
    image = _frame(1.4)
    default = detect_particles(image)
    assert len(default) == 16 and _finds_faint(default)
    lower = detect_particles(image, sensitivity=0.7)
    assert len(lower) == 15 and not _finds_faint(lower)


def test_a_changed_sensitivity_is_detected_again_through_the_memo():
    from napari_ivae.core.detection.detection_memo import DetectionMemo, using_memo

    image, memo = _frame(1.2), DetectionMemo()
    with using_memo(memo):
        first = detect_particles(image)
        again = detect_particles(image, sensitivity=1.5)
    assert not _finds_faint(first) and _finds_faint(again)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "high"])
def test_a_bad_sensitivity_is_refused_on_one_line(value):
    with pytest.raises(InputError, match="sensitivity must be") as caught:
        detect_particles(np.zeros((32, 32)), sensitivity=value)
    assert "\n" not in str(caught.value)


def test_sensitivity_is_refused_for_the_threshold_methods_other_than_one():
    image = _frame(1.2)
    with pytest.raises(InputError, match="applies to method='auto' only"):
        detect_particles(image, method="otsu", sensitivity=1.5)
    plain = detect_particles(image, method="otsu", sensitivity=1.0)  # the default: accepted
    np.testing.assert_array_equal(plain.coords, detect_particles(image, method="otsu").coords)


def test_the_cli_passes_sensitivity_and_refuses_a_bad_one(tmp_path, capsys):
    np.save(tmp_path / "p.npy", _frame(1.2).astype(np.float32))
    counts = {}
    for value in ("1", "1.5"):
        out = tmp_path / f"p{value}.csv"
        args = ["detect", str(tmp_path / "p.npy"), "--mode", "particles", "--out", str(out)]
        assert main([*args, "--sensitivity", value]) == 0
        counts[value] = len(pd.read_csv(out))
    assert counts["1"] == len(detect_particles(_frame(1.2).astype(np.float32)))
    assert counts["1.5"] > counts["1"]
    capsys.readouterr()
    args = ["detect", str(tmp_path / "p.npy"), "--mode", "particles", "--out", str(out)]
    assert main([*args, "--sensitivity", "0"]) == 2
    assert "--sensitivity must be a finite number above 0" in capsys.readouterr().err


def test_the_self_check_names_sensitivity_where_it_is_the_thing_to_try():
    from napari_ivae.core.detection import quality_particles

    edge = quality_particles._edge_only_warning(3, 4.0)[0]
    assert "raise --sensitivity" in edge
    assert "--sensitivity" not in quality_particles._texture_warning(5, {})[0]
    assert "lower --sensitivity" in quality_particles._texture_warning(5, {}, raised=True)[0]
    noise = np.random.default_rng(1).normal(size=(64, 64))
    empty = detect_particles(noise, sensitivity=0.3)  # not even the noise's strongest
    assert len(empty) == 0 and "raise sensitivity" in empty.message


def test_batch_keeps_the_sensitivity_the_model_s_points_were_detected_with():
    from types import SimpleNamespace

    from napari_ivae.cli._batch import pipeline_settings

    config = SimpleNamespace(patch_shape=(24, 24))

    def detect(chosen):
        bundle = SimpleNamespace(config=config, metadata={"detection": {"widget_settings": chosen}})
        return pipeline_settings(bundle)["detect"]

    chosen = {"mode": "particles", "method": "auto", "sensitivity": 1.5}
    assert detect(chosen) == {"polarity": "auto", "method": "auto", "sensitivity": 1.5}
    assert "sensitivity" not in detect({**chosen, "sensitivity": 1.0})
    assert "sensitivity" not in detect({**chosen, "method": "otsu"})  # the dock's box unused
