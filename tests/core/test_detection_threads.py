"""A detection's per-scale work and transforms on two threads give the numbers of one, bit for
bit; only the command's main thread uses more than one."""

import json
import os
import threading

import numpy as np
import pytest

from napari_ivae.core.detection import _filters, _threads
from napari_ivae.core.detection.particle_blobs import polarity_scale_and_response, scale_space
from napari_ivae.core.detection.particle_threshold import background_strengths


def _threads_up_to(monkeypatch, threads):
    monkeypatch.setattr(_threads, "DETECTION_THREADS", threads)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.5, 0.4))  # this process alone


def test_more_threads_on_the_main_thread_only(monkeypatch):
    _threads_up_to(monkeypatch, 2)
    assert _threads.detection_threads() == 2
    seen = []
    worker = threading.Thread(target=lambda: seen.append(_threads.detection_threads()))
    worker.start()
    worker.join()
    assert seen == [1]
    monkeypatch.setattr(os, "getloadavg", lambda: (3.7, 3.5, 3.0))
    assert _threads.detection_threads() == 1  # the other cores busy: one thread
    monkeypatch.setattr(os, "getloadavg", lambda: (2.2, 3.5, 3.0))
    assert _threads.detection_threads() == 2  # one of the three busy
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert _threads.detection_threads() == 1  # one core: one thread


@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_shared_out_does_every_index_once_and_raises_what_a_share_raises(threads):
    done = []
    _threads.shared_out(lambda indices: done.extend(indices), 5, threads)
    assert sorted(done) == list(range(5))

    def failing(indices):
        if 3 in indices:
            raise ValueError("share with 3")

    with pytest.raises(ValueError, match="share with 3"):
        _threads.shared_out(failing, 5, threads)


def _bright_blobs(shape, seed):
    rng = np.random.default_rng(seed)
    rows, cols = np.indices(shape)
    frame = 100.0 + 3.0 * rng.standard_normal(shape)
    for _ in range(25):
        y, x, r = rng.uniform(8, shape[0] - 8), rng.uniform(8, shape[1] - 8), rng.uniform(3, 6)
        frame += 40.0 * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * (r / 1.4) ** 2))
    return frame.astype(np.float32)


@pytest.mark.parametrize("shape", [(97, 131), (255, 64), (301, 389)])
def test_two_threads_give_the_numbers_of_one(monkeypatch, shape):
    # odd numbers of lines: the threads' shares and their vectorised blocks of lines differ
    # from one thread's, and every line and scale is still computed as alone
    frame = _bright_blobs(shape, shape[0])
    skip = np.zeros(shape, dtype=bool)
    skip[:5, :9] = True  # a left-out corner: each scale measured on its own pixels
    results = {}
    for threads in (1, 2):
        _threads_up_to(monkeypatch, threads)
        assert _threads.detection_threads() == threads
        response = scale_space(frame, [1.3, 2.9, 4.1, 7.0])
        polarity, sigma, scales, choice, _ = polarity_scale_and_response(frame, skip)
        results[threads] = (
            response,
            _filters.gaussian_smooth(frame, 12.0),  # 48 px each side: cosine transforms
            choice,
            np.array([sigma]),
            background_strengths(response, [1.3, 2.9, 4.1, 7.0], polarity, skip),
        )
    for one, two in zip(results[1], results[2]):
        assert one.dtype == two.dtype
        assert one.tobytes() == two.tobytes()


def test_a_detection_on_two_threads_is_the_detection_on_one(monkeypatch):
    from napari_ivae.core.detection.particles import detect_particles

    frame = _bright_blobs((180, 200), 7)
    found = {}
    for threads in (1, 2):
        _threads_up_to(monkeypatch, threads)
        result = detect_particles(frame)
        found[threads] = (
            result.coords.tobytes(),
            np.asarray(result.labels).tobytes(),
            json.dumps(result.params, sort_keys=True, default=str),
        )
    assert len(found[1][0]) > 0
    assert found[1] == found[2]


@pytest.mark.parametrize("threads", [1, 2])
def test_started_gives_the_result_or_raises_what_the_step_raised(monkeypatch, threads):
    _threads_up_to(monkeypatch, threads)
    assert _threads.started(lambda a, b: a * b, 6, 7).result() == 42

    def failing():
        raise ValueError("the step failed")

    if threads == 1:  # computed at once
        with pytest.raises(ValueError, match="the step failed"):
            _threads.started(failing)
    else:
        with pytest.raises(ValueError, match="the step failed"):
            _threads.started(failing).result()
