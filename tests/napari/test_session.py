"""The per-viewer session: typed fields with one signal each, grouped updates, one per viewer."""

import gc

import numpy as np
import pytest

from napari_ivae._widgets._session import Session, get_session


def test_each_field_has_its_own_signal():
    session = Session()
    seen = []
    session.events.bundle.connect(lambda new, old: seen.append(("bundle", new, old)))
    session.events.training.connect(lambda new: seen.append(("training", new)))
    session.training = True
    session.training = True  # unchanged: no signal
    session.spacing = 12.5  # nobody listens to it
    labels = np.zeros(3, dtype=np.int64)
    session.labels = labels
    session.labels = labels.copy()  # a new array is a change even when equal
    assert seen == [("training", True)]
    assert session.spacing == 12.5


def test_update_assigns_the_group_before_emitting():
    session = Session()
    seen = []
    session.events.columns.connect(
        lambda columns: seen.append((sorted(columns), session.encoding, session.result_notes))
    )
    session.update(encoding="enc", columns={"z1": np.zeros(2)}, result_notes=["noisy z1"])
    assert seen == [(["z1"], "enc", ["noisy z1"])]
    with pytest.raises(AttributeError, match="bogus"):
        session.update(bogus=1)


def test_one_session_per_viewer_dropped_with_it():
    class Viewer:
        pass

    class Proxy:  # napari hands plugins a proxy of the viewer
        def __init__(self, viewer):
            self.__wrapped__ = viewer

    viewer, other = Viewer(), Viewer()
    session = get_session(viewer)
    assert get_session(Proxy(viewer)) is session
    assert get_session(other) is not session
    from napari_ivae._widgets import _session

    key = id(viewer)
    assert _session._SESSIONS[key] is session
    del viewer
    gc.collect()
    assert key not in _session._SESSIONS and id(other) in _session._SESSIONS
