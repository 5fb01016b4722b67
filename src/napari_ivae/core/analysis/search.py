"""The beta(t) search of the shift-VAE paper: train a grid of settings, score their latent maps.

:func:`search_beta` trains one model per ``(beta_start, beta_end, smoothness)`` on the same grid
patches, each in its own process with one torch thread (all cores busy, every run exactly
reproducible from the seed whatever the number of processes), and scores every run's z maps:

* ``edge``: the edge length (:func:`napari_ivae.core.analysis.segmentation.edge_length`) of its
  smoother *active* z map, in grid cells (lower = smoother, fewer and shorter domain walls);
* ``fourier``: the shift-VAE paper's central-peak ratio
  (:func:`napari_ivae.core.analysis.segmentation.fourier_peak_ratio`) of its best active map (higher =
  smoother).

A z dimension is *active* when its posterior means vary over the tiles (variance > 0.01, the
usual active-unit criterion): a collapsed map is flat, so it would score perfectly smooth while
showing nothing. A run without an active map is marked ``collapsed`` and never chosen. When the
search crosses a lambda > 0 with a designated phase latent (``TrainConfig.smoothness_latents``
= K > 0, the default K = 1), every run (lambda 0 included, the baseline) is scored on z1..zK
only: z1 is the map the term smooths and the one to segment, and the other z stay free to
carry the detail; a run whose designated maps are all flat counts as collapsed. The
chosen run is the smoothest: the lowest ``edge``, where edge lengths less than one grid cell
apart (:data:`EDGE_RESOLUTION`, less than one tile of wall) are a tie, broken by the better
reconstruction (then the higher ``fourier``); the runs with ``beta_start == beta_end`` are the
fixed-beta baselines it is compared with, the best of them chosen the same way.
"""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field

import numpy as np

from napari_ivae.core.errors import InputError, IvaeError

#: variance of a z dimension's posterior means over the tiles above which it counts as active
ACTIVE_VARIANCE = 0.01

#: edge lengths (grid cells) closer than this are a tie: less than one tile of domain wall
#: apart, below what the grid resolves (settings that train the same maps differ by 0.01)
EDGE_RESOLUTION = 1.0


@dataclass
class SearchRun:
    """One trained setting and its scores."""

    beta_start: float
    beta_end: float
    smoothness: float
    edge: float = math.nan
    fourier: float = math.nan
    map_index: int = -1  # the z dimension scored by ``edge`` (0-based), -1 when collapsed
    recon: float = math.nan
    final_loss: float = math.nan
    active: int = 0
    seconds: float = 0.0

    @property
    def collapsed(self) -> bool:
        """True when no scored z map is active (the run shows nothing; a run not scored
        yet too)."""
        return self.map_index < 0

    @property
    def fixed(self) -> bool:
        """True for a constant beta (a baseline of the search)."""
        return self.beta_start == self.beta_end

    def label(self) -> str:
        """``"beta 0.1 -> 1, lambda 0"`` (``"beta 1 (fixed)"`` for a constant one)."""
        beta = (
            f"beta {self.beta_end:g} (fixed)"
            if self.fixed
            else f"beta {self.beta_start:g} -> {self.beta_end:g}"
        )
        return beta + (f", lambda {self.smoothness:g}" if self.smoothness else "")


@dataclass
class SearchResult:
    """All runs, the chosen one, and what is kept of the best runs."""

    runs: list
    best: int | None
    best_fixed: int | None
    grid_shape: tuple
    model: object = None  # the chosen run's trained model
    train_result: object = None
    # run index -> (n_z, [F,] rows, cols) z maps; the chosen run first, then by edge length
    maps: dict = field(default_factory=dict)
    stopped: bool = False

    def summary(self) -> str:
        """One sentence: which setting was chosen, and how it compares with the best fixed beta."""
        if self.best is None:
            return "no run gave an active latent map: every setting collapsed (lower beta_end)."
        best = self.runs[self.best]
        text = (
            f"chosen: {best.label()} (z{best.map_index + 1} edge length {best.edge:.1f} "
            f"cells, Fourier ratio {best.fourier:.3f}, recon {best.recon:.1f})"
        )
        alive = [i for i, run in enumerate(self.runs) if not run.collapsed]
        tied = len(_equally_smooth(self.runs, alive))
        if tied > 1:
            text += (
                f"; {tied} settings are equally smooth (edges within one grid cell), this one "
                "reconstructs best"
            )
        if self.best_fixed is None:
            return text + "; no fixed beta in the search to compare with."
        fixed = self.runs[self.best_fixed]
        if self.best_fixed == self.best:
            return text + "; it is the best fixed beta."
        compared = (
            f"best fixed beta: {fixed.label()} (edge {fixed.edge:.1f}, Fourier "
            f"{fixed.fourier:.3f}, recon {fixed.recon:.1f})"
        )
        if abs(fixed.edge - best.edge) <= EDGE_RESOLUTION:
            return (
                text + f"; {compared}: as smooth, the chosen setting reconstructs "
                f"{fixed.recon - best.recon:.1f} nats per patch better."
            )
        change = 100.0 * (fixed.edge - best.edge) / fixed.edge if fixed.edge > 0 else 0.0
        return text + f"; {compared}: the chosen setting's map is {change:.0f} % shorter in edges."

    def table(self) -> list[dict]:
        """One dict per run (JSON-safe), in the search's order."""
        rows = []
        for i, run in enumerate(self.runs):
            rows.append(
                {
                    **asdict(run),
                    "collapsed": run.collapsed,
                    "fixed": run.fixed,
                    "chosen": i == self.best,
                }
            )
        return rows


def score_maps(z_maps: np.ndarray, designated: int = 0) -> dict:
    """Scores of one run's z maps.

    Parameters
    ----------
    z_maps : (n_z, [F,] rows, cols) array
        Posterior means of each z dimension on the grid (frames averaged in the scores).
    designated : int
        Score only the first ``designated`` z maps (the phase latents the smoothness term
        acts on, ``TrainConfig.smoothness_latents``); 0 = every z map.

    Returns
    -------
    dict with ``edge``, ``fourier``, ``map_index`` (-1 and NaN scores when none of the
    scored maps is active) and ``active`` (how many z maps are, scored or not).
    """
    from napari_ivae.core.analysis.segmentation import edge_length, fourier_peak_ratio

    z_maps = np.asarray(z_maps, dtype=np.float64)
    if z_maps.ndim == 3:
        z_maps = z_maps[:, None]
    active = [float(np.var(frames)) > ACTIVE_VARIANCE for frames in z_maps]
    scored = z_maps[:designated] if designated > 0 else z_maps
    edges, fouriers = [], []
    for frames, is_active in zip(scored, active):
        edges.append(np.mean([edge_length(f) for f in frames]) if is_active else math.inf)
        fouriers.append(np.mean([fourier_peak_ratio(f) for f in frames]) if is_active else -1.0)
    if not any(active[: len(scored)]):
        return {"edge": math.nan, "fourier": math.nan, "map_index": -1, "active": sum(active)}
    index = int(np.argmin(np.asarray(edges, dtype=np.float64)))
    return {
        "edge": float(edges[index]),
        "fourier": float(max(fouriers)),
        "map_index": index,
        "active": int(sum(active)),
    }


def _equally_smooth(runs: list, indices: list) -> list:
    """The ``indices`` whose edge lengths are within :data:`EDGE_RESOLUTION` of the
    shortest among them."""
    shortest = min(runs[i].edge for i in indices)
    return [i for i in indices if runs[i].edge <= shortest + EDGE_RESOLUTION]


def choose(runs: list) -> tuple[int | None, int | None]:
    """``(chosen, best fixed beta)`` run indices.

    The smoothest run: the lowest ``edge``; runs within :data:`EDGE_RESOLUTION` of it are a
    tie, broken by the lower reconstruction term (the model that explains the patches
    better), then the higher Fourier ratio, then the search's order. Collapsed runs are never
    chosen; the best fixed beta is chosen the same way among the fixed-beta runs.
    """

    def smoothest(indices: list) -> int | None:
        if not indices:
            return None
        return min(
            _equally_smooth(runs, indices),
            key=lambda i: (
                runs[i].recon if math.isfinite(runs[i].recon) else math.inf,
                -runs[i].fourier,
                i,
            ),
        )

    alive = [i for i, run in enumerate(runs) if not run.collapsed]
    return smoothest(alive), smoothest([i for i in alive if runs[i].fixed])


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
        "state_dict": {k: v.detach().cpu() for k, v in result.model.state_dict().items()},
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
    workers = max(1, min(int(workers or _usable_cores()), len(grid)))
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
        model.load_state_dict(chosen["state_dict"], strict=True)
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


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


#: a few anchors of matplotlib's viridis, interpolated (no plotting library needed)
_VIRIDIS = np.array(
    [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], dtype=np.float64
)


def heatmap_image(result: SearchResult, *, score: str = "edge", cell: int = 48) -> np.ndarray:
    """The search's heat map as an RGB image: beta_start (rows, bottom = smallest) x beta_end.

    One panel per lambda, side by side. Colour: ``score`` (``"edge"``: bright = short edges =
    smooth; ``"fourier"``: bright = high ratio = smooth), scaled over all panels; grey =
    collapsed or not run; the chosen run is framed in red, the best fixed beta in white.

    Returns
    -------
    uint8 array (rows, cols, 3).
    """
    if score not in ("edge", "fourier"):
        raise InputError(f'score must be "edge" or "fourier", got {score!r}.')
    lams = sorted({run.smoothness for run in result.runs})
    starts = sorted({run.beta_start for run in result.runs})
    ends = sorted({run.beta_end for run in result.runs})
    values = np.array([getattr(run, score) for run in result.runs if not run.collapsed])
    lo, hi = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    gap = cell // 4
    height = len(starts) * cell
    width = len(lams) * len(ends) * cell + (len(lams) - 1) * gap
    image = np.full((height, width, 3), 255, dtype=np.uint8)
    for k in range(len(lams)):
        left = k * (len(ends) * cell + gap)
        image[:, left : left + len(ends) * cell] = 160
    for i, run in enumerate(result.runs):
        r = len(starts) - 1 - starts.index(run.beta_start)
        c = lams.index(run.smoothness) * (len(ends) * cell + gap) + ends.index(run.beta_end) * cell
        block = image[r * cell : (r + 1) * cell, c : c + cell]
        if not run.collapsed:
            t = (getattr(run, score) - lo) / (hi - lo) if hi > lo else 1.0
            t = 1.0 - t if score == "edge" else t
            position = t * (len(_VIRIDIS) - 1)
            k = min(int(position), len(_VIRIDIS) - 2)
            colour = _VIRIDIS[k] + (position - k) * (_VIRIDIS[k + 1] - _VIRIDIS[k])
            block[:] = colour.astype(np.uint8)
        frame = {result.best: (230, 30, 30), result.best_fixed: (255, 255, 255)}.get(i)
        if frame is not None:
            w = max(2, cell // 12)
            for edge in (block[:w], block[-w:], block[:, :w], block[:, -w:]):
                edge[:] = frame
    return image


def heatmap_png(result: SearchResult, path, *, score: str = "edge") -> None:
    """Write :func:`heatmap_image` to ``path`` as a PNG (atomically)."""
    import imageio.v3 as iio

    from napari_ivae.core._atomic import write_atomically

    encoded = iio.imwrite("<bytes>", heatmap_image(result, score=score), extension=".png")
    write_atomically(path, lambda stream: stream.write(encoded))
