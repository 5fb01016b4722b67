"""The beta(t) search's runs, their scores and the choice among them.

Every run of :func:`napari_ivae.core.analysis.search.search_beta` is scored on its z maps:

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
from dataclasses import asdict, dataclass, field

import numpy as np

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
