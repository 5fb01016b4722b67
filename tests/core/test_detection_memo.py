"""The detection memo (live tuning): the same result as a fresh detection, to the bit, never
stale, and a detection that stops between steps when it is no longer wanted."""

from __future__ import annotations

import numpy as np
import pytest

from napari_ivae.core.detection.atoms import detect_atoms
from napari_ivae.core.detection.detection_memo import (
    DetectionMemo,
    Superseded,
    remembered,
    using_memo,
)
from napari_ivae.core.synthetic.lattice import make_lattice


@pytest.fixture(scope="module")
def image():
    # two domains and a crop smaller than the frame: every remembered step runs
    return make_lattice((448, 448), spacing=10.0, domains=2, seed=4).image.astype(np.float32)


def _same(a, b) -> None:
    np.testing.assert_array_equal(a.coords, b.coords)
    assert a.properties.equals(b.properties)
    assert repr(a.params) == repr(b.params)
    assert a.message == b.message and repr(a.quality) == repr(b.quality)


def _fresh(image, monkeypatch, **kwargs):
    """A detection that reuses nothing: every step of it computed."""
    with monkeypatch.context() as patch:
        patch.setattr(DetectionMemo, "lookup", lambda self, key: (False, None))
        return detect_atoms(image, **kwargs)


def test_a_tuning_burst_with_a_memo_gives_fresh_results_to_the_bit(image, monkeypatch):
    memo = DetectionMemo()
    settings = [
        {"spacing": 10.5},
        {"spacing": 11.0},
        {"spacing": 11.0, "refine": "gaussian"},
        {"spacing": 11.0, "sigma": 1.2},
        {"spacing": 10.5},
        {},
        {"sigma": 1.4},
        {"crystal_only": False},
    ]
    for kwargs in settings:
        _same(detect_atoms(image, memo=memo, **kwargs), _fresh(image, monkeypatch, **kwargs))
    assert memo.hits >= len(settings)  # the image's own steps (annotation, spacing) at least


def test_a_changed_image_or_parameter_is_never_answered_from_the_memo(image, monkeypatch):
    memo = DetectionMemo()
    detect_atoms(image, spacing=10.5, memo=memo)
    changed = image.copy()
    changed[200:230, 200:230] = changed.mean()  # a patch of the lattice gone
    _same(
        detect_atoms(changed, spacing=10.5, memo=memo), _fresh(changed, monkeypatch, spacing=10.5)
    )
    dark = changed.max() + changed.min() - changed
    _same(detect_atoms(dark, spacing=10.5, memo=memo), _fresh(dark, monkeypatch, spacing=10.5))
    # the same contents in another array (the dock's snapshot of a layer) is the same image
    hits = memo.hits
    detect_atoms(changed.copy(), spacing=10.5, memo=memo)
    assert memo.hits > hits


def test_a_memo_keys_contents_exactly():
    memo, calls = DetectionMemo(), []

    def step(*args):
        calls.append(args)
        return {"result": np.arange(3)}

    values = [1, 1.0, True, 1.0 + 1e-15, np.float32(1.0), np.ones(2), np.ones(2, np.float32)]
    with using_memo(memo):
        for value in values + values:
            remembered("step", step, value)
        kept = remembered("step", step, 1)
        kept["result"][0] = 99  # a caller changing its copy changes nothing kept
        assert remembered("step", step, 1)["result"][0] == 0
    assert len(calls) == len(values)


def test_a_memo_stays_within_its_bounds():
    memo = DetectionMemo(max_bytes=4000, max_entries=3)
    with using_memo(memo):
        for k in range(5):
            remembered("step", lambda k: np.zeros(100), k)  # 800 bytes each
        assert len(memo) == 3
        remembered("step", lambda: np.zeros(2000))  # over a quarter of the bound: not kept
        assert len(memo) == 3
    memo = DetectionMemo(max_bytes=2000)
    with using_memo(memo):
        for k in range(5):
            remembered("step", lambda k: np.zeros(60), k)  # 480 bytes each
    assert len(memo) == 4


def test_a_step_whose_arguments_cannot_be_keyed_is_computed():
    memo, calls = DetectionMemo(), []
    with using_memo(memo):
        for _ in range(2):
            remembered("step", lambda thing: calls.append(thing), object())
    assert len(calls) == 2 and len(memo) == 0


def test_a_memory_mapped_or_very_large_array_is_not_hashed(tmp_path, monkeypatch):
    """A memory-mapped stack would be read whole to hash it at every run: such a step is
    computed instead of keyed (as any argument the memo cannot key)."""
    from napari_ivae.core.detection import detection_memo

    mapped = np.lib.format.open_memmap(tmp_path / "s.npy", "w+", np.float32, (4, 8, 8))
    monkeypatch.setattr(detection_memo, "MAX_KEYED_BYTES", 1024)
    memo, calls = DetectionMemo(), []
    with using_memo(memo):
        for _ in range(2):
            remembered("mapped", lambda a: calls.append(a.shape), mapped)
            remembered("large", lambda a: calls.append(a.shape), np.zeros(512, np.float32))
            remembered("small", lambda a: calls.append(a.shape), np.zeros(16, np.float32))
    assert calls.count((4, 8, 8)) == 2 and calls.count((512,)) == 2 and calls.count((16,)) == 1


def test_a_superseded_detection_stops_between_steps(image):
    asked = iter([False, False, True])
    with pytest.raises(Superseded), using_memo(DetectionMemo(), lambda: next(asked, True)):
        detect_atoms(image, spacing=10.5)
    with using_memo(DetectionMemo(), lambda: False):  # wanted: it ends
        assert len(detect_atoms(image, spacing=10.5).coords) > 100


def test_replaced_pixels_are_warned_of_at_every_detection_with_a_memo(image):
    hot = image.copy()
    hot[100, 100] = 50 * float(image.max())  # an X-ray hit: replaced, with a warning
    memo = DetectionMemo()
    for _ in range(2):  # the preparation that warned is not kept: it warns again
        with pytest.warns(UserWarning, match="replaced"):
            detect_atoms(hot, spacing=10.5, memo=memo)


def test_a_first_result_computed_on_a_view_is_found_again_for_its_copy():
    # a step's first result comes back as computed (the prepared image: a view of a
    # (1, Y, X) array), a remembered one as a copy (no view): both must be one key, or
    # the first detection of an image is never found again
    memo, calls = DetectionMemo(), []

    def step(frame):
        calls.append(frame.shape)
        return float(frame.sum())

    stack = np.arange(2 * 12 * 10, dtype=np.float32).reshape(2, 12, 10)
    with using_memo(memo):
        for frame in (stack[1], stack[1].copy(), np.ascontiguousarray(stack[1])):
            remembered("step", step, frame)
        remembered("step", step, stack[0])  # another frame of the stack: other contents
        remembered("step", step, stack[1, 2:, 3:])  # a crop (not contiguous)
        remembered("step", step, stack[1, 2:, 3:].copy())
    assert calls == [(12, 10), (12, 10), (10, 7)]


def test_views_of_all_of_an_arrays_bytes_are_hashed_once_per_detection(monkeypatch):
    import hashlib

    hashed = []
    real = hashlib.sha1
    monkeypatch.setattr(hashlib, "sha1", lambda data: (hashed.append(len(data)), real(data))[1])
    stack = np.arange(12 * 10, dtype=np.float32).reshape(1, 12, 10)
    memo = DetectionMemo()
    with using_memo(memo):
        for _ in range(3):  # a new view each time, as a detection's frames are
            remembered("step", lambda frame: float(frame.sum()), stack[0])
            remembered("other step", lambda frame: float(frame.max()), stack.reshape(12, 10))
    assert hashed == [stack.nbytes]
