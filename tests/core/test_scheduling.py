"""Scheduler choice: threads (default), sync, worker processes and a dask.distributed cluster
give the same detections and latents; the command line takes --scheduler and reports stages."""

import operator
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from napari_ivae.cli import main
from napari_ivae.core.errors import InputError
from napari_ivae.core.scheduling import MemmapRef, map_tasks, portable
from napari_ivae.core.synthetic.lattice import make_lattice


def _stack(frames=6, side=160):
    return np.stack(
        [
            make_lattice((side, side), spacing=10.0, noise=0.08, rotation=11.0 * i, seed=i).image
            for i in range(frames)
        ]
    ).astype(np.float32)


@pytest.mark.parametrize("scheduler", [None, "threads", "sync"])
def test_results_come_back_in_task_order_with_progress(scheduler):
    seen = []
    tasks = [(i, 10 * i) for i in range(7)]
    out = map_tasks(
        operator.add, tasks, scheduler, lambda done, total: seen.append((done, total)), workers=3
    )
    assert out == [11 * i for i in range(7)]
    assert sorted(seen) == [(k, 7) for k in range(1, 8)]


def test_worker_processes_run_module_functions_in_order():
    assert map_tasks(operator.mul, [(i, 3) for i in range(5)], "processes") == [0, 3, 6, 9, 12]


def test_an_unknown_scheduler_is_one_clear_error():
    with pytest.raises(InputError, match="not known"):
        map_tasks(operator.add, [(1, 2)], "gpu-farm")


def test_a_memory_map_travels_as_its_file_not_its_pixels(tmp_path):
    stack = _stack(3, 64)
    np.save(tmp_path / "s.npy", stack)
    mapped = np.load(tmp_path / "s.npy", mmap_mode="r")
    ref = portable(mapped)
    assert isinstance(ref, MemmapRef)
    payload = pickle.dumps(ref)
    assert len(payload) < 2_000  # not the 49 kB of pixels
    np.testing.assert_array_equal(pickle.loads(payload)[1, 5:9], stack[1, 5:9])


def _pipeline(stack, scheduler, encode=True):
    from napari_ivae.core.detection.streaming import detect_stream
    from napari_ivae.core.models import ModelConfig, build_model
    from napari_ivae.core.patches.source import PatchSource, encode_source

    found = detect_stream(stack, "atoms", scheduler=scheduler, chunk=64)
    if not encode:
        return found, None, None
    torch.manual_seed(0)
    model = build_model(ModelConfig("rvae", (16, 16)))
    source = PatchSource(stack, found.coords, 16, normalize="patch")
    encoding = encode_source(model, source, scheduler=scheduler)
    return found, source, encoding


@pytest.mark.slow
def test_a_local_cluster_gives_the_threads_results(tmp_path):
    distributed = pytest.importorskip("distributed")
    zarr = pytest.importorskip("zarr")
    from napari_ivae.core.io.imageio import read_image

    stack = _stack(5, 96)
    np.save(tmp_path / "s.npy", stack)
    stored = zarr.create_array(
        str(tmp_path / "s.zarr"), shape=stack.shape, chunks=(1, 48, 48), dtype="float32"
    )
    stored[:] = stack
    found, source, encoding = _pipeline(stack, None)
    assert len(found) > 300 and found.params["n_frames"] == 5
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_cluster, cluster_source, cluster_encoding = _pipeline(
            read_image(tmp_path / "s.zarr"), client
        )
        by_address, _, _ = _pipeline(
            np.load(tmp_path / "s.npy", mmap_mode="r"), cluster.scheduler_address, encode=False
        )
    np.testing.assert_array_equal(on_cluster.coords, found.coords)
    np.testing.assert_array_equal(by_address.coords, found.coords)
    np.testing.assert_array_equal(cluster_source.patch_min, source.patch_min)
    np.testing.assert_allclose(cluster_encoding.z_mean, encoding.z_mean, atol=1e-5)
    np.testing.assert_allclose(cluster_encoding.angle, encoding.angle, atol=1e-5)


def test_detect_takes_a_scheduler_and_reports_the_stage(tmp_path, capsys):
    np.save(tmp_path / "s.npy", _stack(6, 96))
    out = tmp_path / "p.csv"
    assert main(["detect", str(tmp_path / "s.npy"), "--out", str(out)]) == 0
    assert (
        main(
            [
                "detect",
                str(tmp_path / "s.npy"),
                "--out",
                str(tmp_path / "q.csv"),
                "--scheduler",
                "sync",
            ]
        )
        == 0
    )
    pd.testing.assert_frame_equal(pd.read_csv(out), pd.read_csv(tmp_path / "q.csv"))
    capsys.readouterr()
    assert (
        main(
            [
                "detect",
                str(tmp_path / "s.npy"),
                "--out",
                str(tmp_path / "r.csv"),
                "--scheduler",
                "nowhere",
            ]
        )
        == 2
    )
    assert "scheduler 'nowhere' is not known" in capsys.readouterr().err


def test_a_lazy_stack_reports_its_frames_and_a_lazy_frame_its_chunks(tmp_path, capsys):
    zarr = pytest.importorskip("zarr")
    stack = _stack(6, 96)
    stored = zarr.create_array(
        str(tmp_path / "s.zarr"), shape=stack.shape, chunks=(1, 96, 96), dtype="float32"
    )
    stored[:] = stack
    assert main(["detect", str(tmp_path / "s.zarr"), "--out", str(tmp_path / "a.csv")]) == 0
    assert "frames detected 6/6 (100 %)" in capsys.readouterr().err
    frame = zarr.create_array(
        str(tmp_path / "f.zarr"), shape=(2200, 2200), chunks=(550, 550), dtype="float32"
    )
    frame[:] = make_lattice((2200, 2200), spacing=14.0, noise=0.1, seed=1).image
    assert main(["detect", str(tmp_path / "f.zarr"), "--out", str(tmp_path / "b.csv")]) == 0
    err = capsys.readouterr().err
    assert "chunks searched 4/4 (100 %)" in err
    assert len(pd.read_csv(tmp_path / "b.csv")) > 20_000


def test_usable_cores_counts_the_cores_this_process_may_run_on(monkeypatch):
    import os

    from napari_ivae.core import scheduling

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5}, raising=False)
    assert scheduling.usable_cores() == 3
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)  # macOS, Windows
    monkeypatch.setattr(os, "cpu_count", lambda: 7)
    assert scheduling.usable_cores() == 7
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert scheduling.usable_cores() == 1
