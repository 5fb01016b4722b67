"""The Train dock's progress bar tells the run as it goes: its total is right from Start (the
ss-rVAE's steps after training included, so the bar never moves back), and a run stopped or
aborted before its last step says so on the bar and in the readout (a bar left at 13 % read as
a run that hangs)."""

from __future__ import annotations

from napari_helpers import PLUGIN, is_error, open_widget

from napari_ivae._widgets._session import get_session


def _watch_bar(train):
    """Every (value, max) the bar shows at each step of the run."""
    seen = []
    on_step = train._on_step

    def watched(event):
        on_step(event)
        seen.append((int(train.progress.value), int(train.progress.max), train.eta.value))

    train._on_step = watched
    return seen


def test_ss_rvae_bar_total_is_right_from_start_and_names_the_class_image_steps(viewer, qtbot):
    """A microscopist's STM session: the ss-rVAE's bar said 90 steps at Start and 290 after
    the first step (200 steps of the class images alone follow training): the bar went back."""
    viewer.open_sample(PLUGIN, "cards")
    patches = open_widget(viewer, "Patches and labels")
    patches.extract_button.clicked.emit()
    qtbot.waitUntil(lambda: not patches.busy, timeout=60000)
    assert not is_error(patches.status), patches.status.value
    train = open_widget(viewer, "Train")
    train.kind.value = "ss-rvae"
    train.epochs.value, train.min_steps.value, train.batch_size.value = 1, 0, 64
    train.write_maps.value = False
    seen = _watch_bar(train)
    assert train.start() is not None
    at_start = int(train.progress.max)
    assert "then 200 steps of the class images alone" in train.status.value, train.status.value
    qtbot.waitUntil(lambda: not train.busy, timeout=300000)
    assert not is_error(train.status), train.status.value
    values = [v for v, _, _ in seen]
    assert {m for _, m, _ in seen} == {at_start}, (at_start, sorted({m for _, m, _ in seen}))
    assert values == sorted(values) and values[-1] == at_start == len(seen)
    polished = get_session(viewer).train_result.timings["class_image_steps"]
    assert polished == 200
    assert seen[-1][2].startswith("class images: step 200/200 after training"), seen[-1][2]
    assert seen[-polished - 1][2].startswith("epoch 1/1"), seen[-polished - 1][2]


def _long_run(train):
    train.kind.value = "rvae"
    train.epochs.value, train.min_steps.value, train.batch_size.value = 10000, 0, 8
    train.write_maps.value = False


def test_stop_says_on_the_bar_and_in_the_readout_that_the_model_was_kept(
    viewer, ready_patches, qtbot
):
    train = open_widget(viewer, "Train")
    _long_run(train)
    train.start()
    qtbot.waitUntil(lambda: train.progress.value >= 3, timeout=120000)
    train.stop()
    qtbot.waitUntil(lambda: not train.busy, timeout=120000)
    done, total = int(train.progress.value), int(train.progress.max)
    assert 3 <= done < total
    assert (
        train.eta.value == f"stopped at step {done} of {total}: the model trained so far was kept."
    )
    assert train.progress.native.text().startswith("stopped at "), train.progress.native.text()
    assert get_session(viewer).bundle is not None
    # the next run's bar is a plain percentage again, its readout the run's own
    train.start()
    assert train.progress.native.text() == "0%" and train.eta.value.startswith("preparing")
    train.abort()
    qtbot.waitUntil(lambda: not train.busy, timeout=120000)


def test_abort_says_on_the_bar_and_in_the_readout_that_the_model_was_discarded(
    viewer, ready_patches, qtbot
):
    train = open_widget(viewer, "Train")
    _long_run(train)
    train.start()
    qtbot.waitUntil(lambda: train.progress.value >= 2, timeout=120000)
    train.abort()
    qtbot.waitUntil(lambda: not train.busy, timeout=120000)
    done, total = int(train.progress.value), int(train.progress.max)
    assert train.eta.value == f"aborted at step {done} of {total}: the model was discarded."
    assert train.progress.native.text().startswith("aborted at ")
    assert get_session(viewer).bundle is None
