"""Train widget: the minimum number of steps is visible and can be turned off (issue 12)."""

from __future__ import annotations

from napari_helpers import is_error, open_widget

from napari_ivae._widgets._session import get_session
from napari_ivae.core.models.config import TrainConfig


def test_min_steps_shown_per_kind_and_zero_trains_exactly_the_epochs(viewer, ready_patches, qtbot):
    train = open_widget(viewer, "Train")
    for kind in ("vae", "rvae", "ss-rvae", "shift-vae"):
        train.kind.value = kind
        assert train.min_steps.value == TrainConfig.defaults_for(kind).min_steps
    train.kind.value = "rvae"
    train.epochs.value, train.batch_size.value, train.min_steps.value = 2, 64, 0
    steps = -(-len(get_session(viewer).patchset) // 64)
    assert train.start() is not None
    assert "raised" not in train.status.value and "(2 epochs" in train.status.value
    assert train.progress.max == 2 * steps
    qtbot.waitUntil(lambda: not train.busy, timeout=60000)
    assert not is_error(train.status), train.status.value
    assert len(get_session(viewer).bundle.metadata["history"]) == 2
