"""The beta(t) search of the shift-VAE paper: train a grid of settings, score their latent maps.

:func:`search_beta` trains one model per ``(beta_start, beta_end, smoothness)`` on the same grid
patches, each in its own process with one torch thread (all cores busy, every run exactly
reproducible from the seed whatever the number of processes), scores every run's z maps and
chooses the smoothest (:mod:`napari_ivae.core.analysis.search_scores`: the scores, the runs,
the choice). :mod:`napari_ivae.core.analysis.search_heatmap` draws the search as a heat map.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

import numpy as np

from napari_ivae.core.analysis.search_heatmap import heatmap_image, heatmap_png
from napari_ivae.core.analysis.search_scores import (
    ACTIVE_VARIANCE,
    EDGE_RESOLUTION,
    SearchResult,
    SearchRun,
    choose,
    score_maps,
)
from napari_ivae.core.errors import InputError, IvaeError
from napari_ivae.core.scheduling import usable_cores

# ------------------------------------------------------------------------- the worker side
_WORKER: dict = {}


def _init_worker(patches, grid_shape, model_config, train_config, designated=0) -> None:
    import signal

    import torch

    torch.set_num_threads(1)
    try:  # Ctrl-C is the parent's to handle (stop after the running settings)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:
        pass
    _WORKER.update(
        patches=patches,
        grid_shape=grid_shape,
        model_config=model_config,
        train_config=train_config,
        designated=designated,
    )


def _train_one(setting: tuple) -> dict:
    """Train one setting in this process; return its scores, maps and weights."""
    from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
    from napari_ivae.core.models.inference import encode
    from napari_ivae.core.models.training import fit

    beta_start, beta_end, smoothness = setting
    patches, grid_shape = _WORKER["patches"], _WORKER["grid_shape"]
    config = TrainConfig.from_dict(
        {
            **_WORKER["train_config"],
            "beta_start": beta_start,
            "beta_end": beta_end,
            "smoothness": smoothness,
        }
    )
    started = time.perf_counter()
    model = build_model(ModelConfig.from_dict(_WORKER["model_config"]))
    result = fit(model, patches, None, config, grid_shape=grid_shape)
    seconds = time.perf_counter() - started
    z = encode(result.model, patches).z_mean
    rows, cols = grid_shape
    z_maps = np.moveaxis(z.reshape(-1, rows, cols, z.shape[1]), -1, 0)
    if z_maps.shape[1] == 1:  # one frame: (n_z, rows, cols)
        z_maps = z_maps[:, 0]
    scores = score_maps(z_maps, _WORKER.get("designated", 0))
    return {
        "setting": setting,
        "scores": scores,
        "z_maps": z_maps.astype(np.float32),
        "recon": reconstruction(result.model, patches),
        "seconds": seconds,
        "final_loss": result.history[-1]["loss"] if result.history else math.nan,
        # numpy, not tensors: torch sends a tensor through a file in /dev/shm, which a small
        # /dev/shm (a container's) or a file-size limit refuses with a traceback
        "state_dict": {k: v.detach().cpu().numpy() for k, v in result.model.state_dict().items()},
        "history": result.history,
        "device": result.device,
    }


def reconstruction(model, patches: np.ndarray) -> float:
    """Mean per-patch negative log-likelihood at the posterior means (all pixels)."""
    import torch

    model.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(patches), 512):
            x = torch.from_numpy(np.ascontiguousarray(patches[start : start + 512]))
            _, terms = model.loss(x, beta=1.0, generator=False)
            total += float(terms["recon"]) * len(x)
    return total / len(patches)


# ------------------------------------------------------------------------------ the search
def search_beta(
    patches,
    grid_shape,
    *,
    beta_starts=(0.01, 0.1, 1.0),
    beta_ends=(0.5, 1.0, 2.0),
    smoothness=(0.0,),
    model_config=None,
    train_config=None,
    workers: int | None = None,
    keep_maps: int = 3,
    callback=None,
    stop_event=None,
    abort_event=None,
    mp_context: str | None = None,
) -> SearchResult:
    """Train every ``(beta_start, beta_end, smoothness)`` and choose the smoothest latent maps.

    Parameters
    ----------
    patches : (N, H, W) array
        Grid patches in the grid's order (``PatchSet.patches``), ``N`` a multiple of the grid.
    grid_shape : (int, int)
        ``PatchSet.grid_shape``.
    beta_starts, beta_ends : sequences of float
        Start and end of the KL weight's linear ramp (over ``train_config.beta_ramp_epochs``;
        half of the epochs when that is 0). ``beta_start == beta_end`` is a fixed beta.
    smoothness : sequence of float
        Values of ``TrainConfig.smoothness`` (lambda) to cross with the betas.
    model_config : ModelConfig, optional
        Default: a shift-VAE of the patches' shape.
    train_config : TrainConfig, optional
        Everything else (epochs, seed, the smoothness form and designated latents, ...);
        default ``TrainConfig.defaults_for(kind)``. Every run uses the same seed. The device
        is always the CPU (one process per core). With a lambda > 0 among ``smoothness`` and
        ``smoothness_latents`` = K > 0, every run is scored on z1..zK only (the designated
        phase maps, :func:`score_maps`).
    workers : int, optional
        Processes at once; default: the usable cores, at most the number of runs.
    keep_maps : int
        The z maps of this many best runs are kept in the result (``maps``); the chosen
        run's always are.
    callback : callable, optional
        ``callback(done, total, run)`` after each finished run (``run`` a :class:`SearchRun`).
    stop_event : threading.Event, optional
        When set, no new run starts; finished runs are kept and the result says ``stopped``.
    abort_event : threading.Event, optional
        When set, the running trainings are killed at once and :class:`SearchAborted` is
        raised (nothing is kept).
    mp_context : {"fork", "spawn", "forkserver"}, optional
        How the worker processes start (default: the platform's). A GUI process, whose torch
        and Qt threads a forked child would inherit half-initialised, should use ``"spawn"``.

    Returns
    -------
    SearchResult
        Runs in the order ``for smoothness, for beta_start, for beta_end``; the chosen run's
        model is rebuilt in this process.

    Raises
    ------
    InputError
        Empty or negative settings, patches that do not fill the grid.
    SearchAborted
        ``abort_event`` was set.
    """
    import multiprocessing

    import torch

    from napari_ivae.core.models import ModelConfig, TrainConfig, build_model
    from napari_ivae.core.models.training import TrainResult
    from napari_ivae.core.validation import as_patch_array

    data = np.ascontiguousarray(as_patch_array(patches), dtype=np.float32)
    rows, cols = (int(s) for s in grid_shape)
    if rows < 2 or cols < 2 or len(data) % (rows * cols):
        raise InputError(
            f"{len(data)} patches do not fill whole grids of {(rows, cols)} "
            "(the search needs grid patches in the grid's order, at least 2x2)."
        )
    settings = []
    for name, values in (
        ("beta_starts", beta_starts),
        ("beta_ends", beta_ends),
        ("smoothness", smoothness),
    ):
        values = [float(v) for v in values]
        if not values or any(not math.isfinite(v) or v < 0 for v in values):
            raise InputError(f"{name} must list numbers >= 0, got {values}")
        settings.append(values)
    model_config = model_config or ModelConfig("shift-vae", patch_shape=data.shape[1:])
    if tuple(model_config.patch_shape) != data.shape[1:]:
        raise InputError(
            f"the model's patch shape {tuple(model_config.patch_shape)} is not the "
            f"patches' {data.shape[1:]}"
        )
    train_config = train_config or TrainConfig.defaults_for(model_config.kind)
    base = {**train_config.to_dict(), "device": "cpu"}
    if not base["beta_ramp_epochs"]:
        base["beta_ramp_epochs"] = max(1, base["epochs"] // 2)
    grid = [(bs, be, lam) for lam in settings[2] for bs in settings[0] for be in settings[1]]
    # the designated phase maps are the ones scored (and segmented) when the term is on
    designated = int(base["smoothness_latents"]) if max(settings[2]) > 0 else 0
    workers = max(1, min(int(workers or usable_cores()), len(grid)))
    outputs: dict = {}
    runs = [SearchRun(bs, be, lam) for bs, be, lam in grid]
    stopped = False
    context = multiprocessing.get_context(mp_context) if mp_context else None
    with ProcessPoolExecutor(
        max_workers=workers,
        initializer=_init_worker,
        mp_context=context,
        initargs=(data, (rows, cols), model_config.to_dict(), base, designated),
    ) as pool:
        pending: dict = {}
        queue = list(range(len(grid)))
        while queue or pending:
            if abort_event is not None and abort_event.is_set():
                _kill_workers(pool)
                raise SearchAborted("the search was aborted; no run was kept.")
            while queue and len(pending) < workers and not stopped:
                if stop_event is not None and stop_event.is_set():
                    stopped = True
                    break
                i = queue.pop(0)
                pending[pool.submit(_train_one, grid[i])] = i
            if stopped:
                queue.clear()
            if not pending:
                break
            done, _ = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                i = pending.pop(future)
                out = future.result()
                scores = out["scores"]
                runs[i] = SearchRun(
                    grid[i][0],
                    grid[i][1],
                    grid[i][2],
                    edge=scores["edge"],
                    fourier=scores["fourier"],
                    map_index=scores["map_index"],
                    active=scores["active"],
                    recon=out["recon"],
                    final_loss=out["final_loss"],
                    seconds=out["seconds"],
                )
                outputs[i] = out
                if callback is not None:
                    callback(len(outputs), len(grid), runs[i])
    index_of = sorted(outputs)  # all runs, or those finished before a stop
    runs = [runs[i] for i in index_of]
    finished = [outputs[i] for i in index_of]
    grid = [grid[i] for i in index_of]
    best, best_fixed = choose(runs)
    # the chosen run's maps first (a tie may choose a run whose edges are not the shortest)
    order = sorted(
        (i for i, run in enumerate(runs) if not run.collapsed),
        key=lambda i: (i != best, runs[i].edge, -runs[i].fourier, i),
    )
    result = SearchResult(
        runs=runs,
        best=best,
        best_fixed=best_fixed,
        grid_shape=(rows, cols),
        maps={i: finished[i]["z_maps"] for i in order[: max(1, int(keep_maps))]},
        stopped=stopped,
    )
    if best is not None:
        chosen = finished[best]
        model = build_model(model_config)
        weights = {k: torch.from_numpy(np.asarray(v)) for k, v in chosen["state_dict"].items()}
        model.load_state_dict(weights, strict=True)
        model.eval()
        config = TrainConfig.from_dict(
            {
                **base,
                "beta_start": grid[best][0],
                "beta_end": grid[best][1],
                "smoothness": grid[best][2],
            }
        )
        result.model = model
        result.train_result = TrainResult(
            model=model,
            history=chosen["history"],
            seed=config.seed,
            device=chosen["device"],
            timings={"total_s": chosen["seconds"]},
            train_config=config,
        )
    return result


class SearchAborted(IvaeError):
    """:func:`search_beta` was aborted (its ``abort_event`` was set)."""


def _kill_workers(pool: ProcessPoolExecutor, patience: float = 10.0) -> None:
    """Terminate the pool's processes now (a training in progress does not look at events),
    and kill those that have not ended within ``patience`` seconds: none outlives the call.

    The pool's manager thread may start a replacement for a worker that left (CPython 3.11
    does so while shutting down), so the processes are looked up again until that thread has
    ended and none is alive."""
    # shutdown() lets go of both; the manager thread keeps adding to this same dict
    processes = getattr(pool, "_processes", None) or {}
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    seen: dict = {}
    started = time.monotonic()
    while True:
        for process in list(processes.values()):
            seen.setdefault(process.pid, process)
        alive = [process for process in seen.values() if process.is_alive()]
        if not alive and (manager is None or not manager.is_alive()):
            return
        waited = time.monotonic() - started
        if waited > 3 * patience:
            return
        for process in alive:  # SIGKILL for one that did not act on SIGTERM in time
            process.kill() if waited > patience else process.terminate()
        for process in alive:
            process.join(timeout=0.2)
        if manager is not None and not alive:
            manager.join(timeout=0.2)


__all__ = [
    "ACTIVE_VARIANCE",
    "EDGE_RESOLUTION",
    "SearchAborted",
    "SearchResult",
    "SearchRun",
    "choose",
    "heatmap_image",
    "heatmap_png",
    "reconstruction",
    "score_maps",
    "search_beta",
]
