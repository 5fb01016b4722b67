"""``benchmarks/responsiveness.py``'s stack sampler: a real plugin block fails the 50 ms target,
napari's own layer add does not, an interval the sampler did not see is reported apart
instead of being credited to whatever plugin frame the next sample shows, and the benchmark's
own poll of a dock is not the plugin's time."""

from __future__ import annotations

import importlib.util
import os
import random
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "responsiveness_bench", ROOT / "benchmarks" / "responsiveness.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(directory: str, filename: str, name: str):
    """``name(work)`` calling ``work()``, as if defined in ``directory/filename`` (what the
    sampler classifies by)."""
    code = compile(
        f"def {name}(work):\n    return work()\n", os.path.join(directory, filename), "exec"
    )
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - a function with a chosen file name
    return namespace[name]


@pytest.fixture
def sampled(bench):
    """``run(work)``: ``work()`` inside a plugin frame on this (the main) thread, sampled every
    2 ms; returns the sampler's figures. ``run.add_image`` is napari's layer add, and
    ``run.starve`` an event that stops the sampler for 200 ms once set (as the machine does to
    it when another process has its core)."""
    import napari

    import napari_ivae

    sampler = bench.PluginSampler(2.0)
    starve = threading.Event()

    def pause() -> None:
        time.sleep(sampler.period_s)
        if starve.is_set():
            starve.clear()
            time.sleep(0.2)

    sampler._pause = pause
    plugin = _function(os.path.dirname(napari_ivae.__file__), "_sampler_test.py", "action")
    add_image = _function(os.path.dirname(napari.__file__), "_sampler_test.py", "add_image")

    def run(work) -> dict:
        sampler.start()
        time.sleep(0.02)
        plugin(work)
        time.sleep(0.02)
        return sampler.stop()

    run.add_image, run.starve = add_image, starve
    yield run
    sampler.closed = True


def _busy(seconds: float) -> None:
    """Python code on the GUI thread for ``seconds`` of its CPU time."""
    start = time.thread_time()
    while time.thread_time() - start < seconds:
        pass


def _spin(seconds: float) -> None:
    """Python code on the GUI thread for ``seconds`` of wall-clock time."""
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pass


def _gil_held(seconds: float):
    """A C call that holds the GIL (a sort) for about ``seconds`` or more of CPU time."""
    rng = random.Random(0)
    data = [rng.random() for _ in range(100_000)]
    start = time.thread_time()
    sorted(data)
    per_item = max(time.thread_time() - start, 1e-4) / len(data)
    big = [rng.random() for _ in range(int(seconds / per_item))]
    return lambda: sorted(big)


def test_an_80_ms_busy_plugin_call_fails(bench, sampled):
    stats = sampled(lambda: _busy(0.08))
    assert stats["plugin_max_ms"] >= bench.TARGET_MS, stats
    assert stats["plugin_max_cpu_ms"] >= 50, stats


def test_a_plugin_call_holding_the_gil_fails(bench, sampled):
    """The sampler cannot look while the GUI thread holds the GIL: between two samples of the
    same call the call is credited with the GUI thread's CPU time over the interval."""
    block = _gil_held(0.08)

    def work() -> None:
        _busy(0.01)
        block()
        _busy(0.01)

    # the sampler thread needs a core around the call to see its edges: on a machine whose
    # other processes take both cores it may get none, and the call's interval is then
    # unseen, not the plugin's. Such a run says nothing either way; a sampler that never
    # credits a GIL-holding call fails all three
    runs = []
    for _ in range(3):
        runs.append(sampled(work))
        if runs[-1]["plugin_max_ms"] >= bench.TARGET_MS:
            break
    assert runs[-1]["plugin_max_ms"] >= bench.TARGET_MS, runs


def test_a_sleep_in_naparis_layer_add_passes(bench, sampled):
    stats = sampled(lambda: sampled.add_image(lambda: time.sleep(0.3)))
    assert stats["plugin_max_ms"] < bench.TARGET_MS, stats
    assert stats["napari_add_max_ms"] >= 200, stats


def test_naparis_layer_add_holding_the_gil_is_naparis(bench, sampled):
    """The add holds the GIL in a C call: once the call returns the sampler takes the GIL and
    its sample, still inside the add, credits the interval to the add. Never to the plugin: when
    the sampler thread itself got no core until the plugin code after the add (two busy test
    workers on two cores), the interval is reported as unseen instead."""
    block = _gil_held(0.15)

    def work() -> None:
        sampled.add_image(lambda: (_busy(0.01), block(), _spin(0.04)))
        _busy(0.005)

    stats = sampled(work)
    assert stats["plugin_max_ms"] < bench.TARGET_MS, stats
    assert max(stats["napari_add_max_ms"], stats["unseen_max_ms"]) >= 100, stats


def test_a_starved_sampler_credits_naparis_add_to_nobody(bench, sampled):
    """The sampler gets no core for 200 ms from the end of napari's add into the plugin code
    after it: the interval is reported as unseen, not credited (half of it, as it used to be)
    to the plugin frame the next sample shows."""

    def add() -> None:
        _spin(0.03)
        sampled.starve.set()
        _spin(0.15)

    def work() -> None:
        sampled.add_image(add)
        _spin(0.06)

    stats = sampled(work)
    assert stats["plugin_max_ms"] < bench.TARGET_MS, stats
    assert stats["unseen_max_ms"] >= 100, stats
    assert stats["starved_intervals"] >= 1


def _samples(*runs: tuple) -> list:
    """Samples from ``(kind, count, interval_ms, cpu_per_interval_ms)`` runs of one call
    (kind "other": no plugin frame); each run's first sample comes ``interval_ms`` after the
    previous run's last one."""
    key = (1, "results.py", "done")
    samples, t, cpu = [], 0.0, 0.0
    for kind, count, interval, cpu_step in runs:
        for _ in range(count):
            t, cpu = t + interval / 1000, cpu + cpu_step / 1000
            if kind == "other":
                samples.append((t, cpu, "other", None, "", ""))
            else:
                samples.append((t, cpu, kind, key, "results.py:done", "_layers.py:1 f"))
    return samples


def test_attribution_of_seen_and_unseen_intervals(bench):
    starved = 0.015
    # 80 ms of plugin samples 2 ms apart: the whole call
    stats = bench.attribute(_samples(("plugin", 41, 2, 2)), starved)
    assert stats["plugin_max_ms"] == pytest.approx(80.0)
    assert stats["unseen_max_ms"] == 0 and stats["starved_intervals"] == 0
    # napari's add, a 300 ms interval nobody saw, then 4 ms of plugin code: not the plugin's
    stats = bench.attribute(
        _samples(("napari_add", 10, 2, 2), ("plugin", 1, 300, 2), ("plugin", 2, 2, 2)), starved
    )
    assert stats["plugin_max_ms"] < 20
    assert stats["unseen_max_ms"] == pytest.approx(285.0)
    assert "napari layer add" in stats["unseen_max_between"]
    # the same call's plugin code at both ends of a 300 ms interval: credited with the GUI
    # thread's CPU time over it (the rest it waited for a core), at least a seen interval's
    busy = bench.attribute(_samples(("plugin", 5, 2, 2), ("plugin", 1, 300, 150)), starved)
    assert busy["plugin_max_ms"] >= 150
    idle = bench.attribute(_samples(("plugin", 5, 2, 2), ("plugin", 1, 300, 1)), starved)
    assert 15 <= idle["plugin_max_ms"] < 50
    # a call starting after an unseen interval: only what its samples show
    stats = bench.attribute(
        _samples(("other", 5, 2, 2), ("plugin", 1, 200, 100), ("plugin", 2, 2, 2)), starved
    )
    assert stats["plugin_max_ms"] < 50 and stats["unseen_max_ms"] == pytest.approx(185.0)


def test_the_benchmarks_poll_is_not_plugin_time_but_what_its_event_loop_runs_is(bench, qapp):
    """The benchmark's event pump polls plugin code (a dock's ``busy``) to see an action end:
    not the plugin's time; a plugin slot the pump's event loop runs is."""
    from qtpy.QtCore import QTimer

    import napari_ivae
    from napari_ivae.demo import process_events_until

    sampler = bench.PluginSampler(2.0)
    plugin = _function(os.path.dirname(napari_ivae.__file__), "_sampler_test.py", "action")
    try:
        sampler.start()
        process_events_until(lambda: plugin(lambda: _busy(0.08)) is None, 10)
        polled = sampler.stop()
        done: list[bool] = []
        sampler.start()
        QTimer.singleShot(0, lambda: done.append(plugin(lambda: _busy(0.08)) is None))
        process_events_until(lambda: bool(done), 10)
        slot = sampler.stop()
    finally:
        sampler.closed = True
    assert polled["plugin_max_ms"] < 5, polled
    assert slot["plugin_max_ms"] >= bench.TARGET_MS, slot
