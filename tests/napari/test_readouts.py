"""Truthful training readouts in the Train widget (issue 11 item 5, issue 10 item 5): the loss
curve shows every step from step 0, smoothed, with epoch marks and (on request) its terms; the
ETA comes from the measured step time; the epochs reported are the epochs run."""

from __future__ import annotations

import statistics
from types import SimpleNamespace

import numpy as np
import pytest
from napari_helpers import is_error, open_widget

from napari_ivae._widgets import train as train_module
from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.loss_plot import smoothed


def short_run(train, epochs, batch_size=32):
    train.kind.value = "rvae"
    train.epochs.value = epochs
    train.min_steps.value = 0  # exactly these epochs
    train.batch_size.value = batch_size
    train.write_maps.value = False
    train.seed.value = 1


def test_loss_curve_from_step_0_with_epoch_marks_and_terms(viewer, ready_patches, qtbot):
    train = open_widget(viewer, "Train")
    short_run(train, epochs=3)
    events = []
    job = train.start()
    job.worker.yielded.connect(events.append)
    qtbot.waitUntil(lambda: not train.busy, timeout=120000)
    assert not is_error(train.status), train.status.value
    plot = train.loss_plot
    assert plot.values == [e.loss for e in events]  # every step, the first one included
    low, high = plot.y_range("loss")
    assert low <= min(plot.values) and high >= max(plot.values)  # step 0 is not clipped
    per_epoch = events[0].steps_per_epoch
    assert plot.epoch_starts == [per_epoch, 2 * per_epoch]
    assert plot.rows() == ["loss"]
    height = plot.minimumHeight()
    train.show_terms.value = True  # the terms on request
    assert plot.rows() == ["loss", *events[0].terms] and {"recon", "kl"} <= set(plot.rows())
    assert plot.series["kl"] == [e.terms["kl"] for e in events]
    assert plot.minimumHeight() > height
    plot.grab()  # paints without error


def test_smoothing_keeps_the_level_and_removes_the_noise():
    assert smoothed([5.0, 5.0, 5.0]) == [5.0, 5.0, 5.0]  # no start-up bias towards 0
    rng = np.random.default_rng(0)
    noisy = list(990.0 + rng.normal(0, 4, 300))
    smooth = smoothed(noisy)
    assert statistics.pstdev(np.diff(smooth)) < 0.3 * statistics.pstdev(np.diff(noisy))
    assert abs(statistics.fmean(smooth[100:]) - 990.0) < 1.0


def test_eta_comes_from_the_measured_step_time(viewer, monkeypatch):
    """Building the model took 30 s before the first step; steps then take 0.5 s each: the
    ETA is 0.5 s per remaining step, not the time since Start spread over the steps."""
    train = open_widget(viewer, "Train")
    clock = {"t": 0.0}
    monkeypatch.setattr(train_module.time, "perf_counter", lambda: clock["t"])
    train._started = 0.0
    total, per_epoch = 200, 20
    for done in range(1, 12):
        clock["t"] = 30.0 + 0.5 * (done - 1)
        train._on_step(
            SimpleNamespace(
                epoch=(done - 1) // per_epoch,
                n_epochs=10,
                step=(done - 1) % per_epoch,
                steps_per_epoch=per_epoch,
                total_steps=total,
                loss=1.0,
                terms={},
                beta=1.0,
            )
        )
    remaining = total - 11
    assert train.eta.value.endswith(f"ETA {train_module._duration(0.5 * remaining)}")
    assert train.eta.value.startswith("epoch 1/10")


def test_the_epochs_reported_are_the_epochs_run(viewer, ready_patches, qtbot):
    train = open_widget(viewer, "Train")
    short_run(train, epochs=10000, batch_size=8)
    train.start()
    qtbot.waitUntil(lambda: train.progress.value >= 1.5 * job_steps(train), timeout=120000)
    train.stop()
    qtbot.waitUntil(lambda: not train.busy, timeout=120000)
    result = get_session(viewer).train_result
    steps = [h["steps"] for h in result.history]
    per_epoch = train._steps_per_epoch
    complete = sum(1 for n in steps if n == per_epoch)
    expected = f"{complete} epoch{'s' * (complete != 1)}"
    if steps[-1] < per_epoch:
        expected += f" + {steps[-1]} of {per_epoch} steps"
    assert f"({expected}, seed 1; stopped early" in train.status.value
    assert sum(steps) == train.loss_plot.steps
    assert train.loss_plot.caption == f"{sum(steps)} steps, {expected}"  # the same under the curve


def job_steps(train):
    return train._steps_per_epoch or 10**9


def test_epochs_run_counts_a_stopped_epoch_as_partial():
    history = [{"steps": 13}, {"steps": 13}, {"steps": 5}]
    assert train_module.epochs_run(history, 13) == "2 epochs + 5 of 13 steps"
    assert train_module.epochs_run([{"steps": 4}], 13) == "0 epochs + 4 of 13 steps"
    assert train_module.epochs_run([{"steps": 13}] * 30, 13) == "30 epochs"


def test_maps_within_posterior_noise_are_flagged_and_offsets_are_centred(
    viewer, lattice_layer, ready_patches, qtbot
):
    """An untrained encoder's codes do not spread beyond their posterior noise: Write maps says
    so (amber) instead of showing noise as structure; offset maps are centred on 0."""
    from test_background import click_and_wait, untrained_model

    from napari_ivae._widgets._writer import NOISE_SPREAD

    untrained_model(viewer)
    results = open_widget(viewer, "Results")
    click_and_wait(qtbot, results, results.write_button)
    encoding = get_session(viewer).encoding
    spread = np.ptp(np.percentile(encoding.z_mean, [1, 99], axis=0), axis=0)
    noisy = spread < NOISE_SPREAD * np.median(encoding.z_std, axis=0)
    assert noisy.any()  # the premise: an untrained model's codes are noise
    for i, flagged in enumerate(noisy):
        assert (f"z{i + 1} spreads" in results.status.value) == bool(flagged)
    assert (
        "#ffb347" in results.status.native.styleSheet()
        and "posterior noise" in results.status.value
    )
    for name in ("dx", "dy"):
        low, high = viewer.layers[f"lat {name} [ivae]"].contrast_limits
        assert low == pytest.approx(-high)
    z1 = viewer.layers["lat z1 [ivae]"].contrast_limits
    np.testing.assert_allclose(z1, np.percentile(encoding.z_mean[:, 0], [1, 99]), rtol=1e-5)


def test_the_readout_says_what_happens_before_the_first_step(viewer, ready_patches, qtbot):
    """A microscopist's session on au_np_crop: after Start the bar stood at 0 % with an empty
    readout for 5-14 s (the model built and fitted before its first step): it looked stuck.
    The readout says so until the first step replaces it."""
    train = open_widget(viewer, "Train")
    short_run(train, epochs=10000, batch_size=8)
    train.start()
    assert train.eta.value.startswith("preparing"), train.eta.value
    qtbot.waitUntil(lambda: train.progress.value >= 1, timeout=120000)
    assert train.eta.value.startswith("epoch "), train.eta.value
    train.abort()
    qtbot.waitUntil(lambda: not train.busy, timeout=120000)
    assert train.eta.value.startswith("aborted at step "), train.eta.value


def test_the_loss_plot_caption_counts_a_stopped_epoch_as_partial(qtbot):
    """Stopped after 2 epochs of 5 steps and 2 steps of the third: the caption under the curve
    says so (it said "3 epochs", counting the epoch begun)."""
    from napari_ivae._widgets.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    for step in range(12):
        plot.add(1.0 / (step + 1), {}, step // 5, 5)
    assert plot.caption == "12 steps, 2 epochs + 2 of 5 steps"
    for step in range(12, 15):  # the third epoch run to its end
        plot.add(0.1, {}, step // 5, 5)
    assert plot.caption == "15 steps, 3 epochs"
