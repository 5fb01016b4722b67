"""The Train widget's beta(t) search: train a grid of KL-weight ramps on the grid patches in the
background (one process per core), then show the heat map, the best runs' maps and keep the
chosen model (``core.analysis.search.search_beta``)."""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
from magicgui.widgets import LineEdit, PushButton, SpinBox

from napari_ivae.core.errors import InputError


@dataclass
class SearchEvent:
    """Progress of a search after one finished run (what the progress bar shows)."""

    done: int
    total_steps: int
    run: Any


def parse_values(text: str, what: str) -> list[float]:
    """``"0.1, 1"`` -> ``[0.1, 1.0]`` (commas or spaces); raises InputError on anything else."""
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise InputError(
            f"{what}: write numbers separated by commas, e.g. '0.1, 1' (got {text!r})."
        ) from None
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise InputError(f"{what}: at least one number >= 0 is needed (got {text!r}).")
    return values


class SearchControls:
    """The search's settings and button, shown as a folded section of the Train widget.

    The search uses the Train widget's progress bar, Stop (keep the runs finished so far and
    the best of them) and Abort (kill the running trainings, keep nothing), status line and
    model settings (epochs, seed, latent size, the smoothness term's form and designated z...);
    only the betas and lambdas come from here.
    """

    def __init__(self, train: Any) -> None:
        self._train = train
        self.beta_starts = LineEdit(
            value="0.01, 0.1, 1",
            label="β starts",
            tooltip="start values of the KL weight's linear ramp; a "
            "start equal to an end is a fixed β (the baseline)",
        )
        self.beta_ends = LineEdit(value="0.5, 1, 2", label="β ends")
        self.lambdas = LineEdit(
            value="0",
            label="smoothness λs",
            tooltip="map smoothness λ values crossed with the betas (e.g. 0, 2: 2 shortened "
            "the phase boundary by 42-75 % on two real images at 1.4-1.7 % worse "
            "reconstruction)",
        )
        self.workers = SpinBox(value=0, min=0, max=256, label="processes (0 = cores)")
        self.button = PushButton(text="Search β(t)")
        self.button.clicked.connect(self.start)
        self.result: Any = None  # the last SearchResult
        self.layers: list = []  # the heat map and the best runs' maps written last

    @property
    def widgets(self) -> list:
        return [self.beta_starts, self.beta_ends, self.lambdas, self.workers, self.button]

    def start(self) -> Any:
        """Start the search on the session's grid patches; returns the job (None if refused)."""
        from napari_ivae._widgets._common import report

        train = self._train
        if train.busy:
            return None
        try:
            job = self._make_job()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(train.status, err)
            return None
        train.run_job(job, on_step=self._on_step, on_returned=self._on_returned)
        return job

    def _make_job(self) -> Any:
        from napari_ivae._workers import TrainingJob
        from napari_ivae.core.models.config import TrainConfig

        train = self._train
        patchset = train._session.patchset
        if patchset is None or not getattr(patchset, "is_grid", False):
            raise InputError(
                "the β(t) search needs grid patches: in 'Patches and labels' "
                "choose 'patches at: grid' and extract them first."
            )
        if train.kind.value not in ("shift-vae", "vae", "rvae"):
            raise InputError(
                "the β(t) search trains unsupervised models: choose shift-VAE "
                "(or rVAE / VAE) as the model."
            )
        starts = parse_values(self.beta_starts.value, "β starts")
        ends = parse_values(self.beta_ends.value, "β ends")
        lambdas = parse_values(self.lambdas.value, "smoothness λs")
        patches = np.ascontiguousarray(patchset.patches, dtype=np.float32)
        grid_shape = tuple(int(s) for s in patchset.grid_shape)
        model_config, train_config = train.configs(patches.shape[1:])
        train_config = TrainConfig.from_dict({**train_config.to_dict(), "device": "cpu"})
        total = len(starts) * len(ends) * len(lambdas)
        workers = int(self.workers.value) or None
        extra = train.provenance(patchset)
        self._pending = (model_config, extra, patchset)
        train.progress.max, train.progress.value = total, 0
        train.status.ok(
            f"searching β(t): {total} trainings of {train_config.epochs} epochs on "
            f"{len(patches)} grid patches, one process per core..."
        )

        holder: dict = {}

        def make_generator(stop_event: threading.Event):
            return _search_steps(
                patches,
                grid_shape,
                starts,
                ends,
                lambdas,
                model_config,
                train_config,
                workers,
                stop_event,
                lambda: holder["job"].aborted,
            )

        holder["job"] = TrainingJob(make_generator, total=total, desc="β(t) search")
        return holder["job"]

    def _on_step(self, event: SearchEvent | None) -> None:
        train = self._train
        if event is None:
            return
        train.progress.max = max(int(event.total_steps), 1)
        train.progress.value = int(event.done)
        run = event.run
        score = (
            "collapsed" if run.collapsed else f"edge {run.edge:.1f} cells, recon {run.recon:.1f}"
        )
        train.eta.value = f"run {event.done}/{event.total_steps}: {run.label()}: {score}"

    def _on_returned(self, result: Any) -> None:
        from napari_ivae._widgets.train import trained_bundle

        train = self._train
        if train.job is None or train.job.aborted:
            return
        self.result = result
        model_config, extra, patchset = self._pending
        if result.stopped:
            kept = "the best run so far is kept" if result.best is not None else "no run finished"
            train._end_bar("stopped", kept, unit="run")
        if result.best is None:
            train.status.warn("β(t) search: " + result.summary())
            return
        chosen = result.train_result
        bundle = trained_bundle(
            chosen, model_config, chosen.train_config, {**extra, "search": result.table()}
        )
        train._session.update(bundle=bundle, train_result=chosen)
        self.layers = write_search_layers(
            train._viewer, train._session.image_layer, result, patchset
        )
        stopped = " (stopped early: the runs finished so far)" if result.stopped else ""
        train.status.ok(
            f"β(t) search{stopped}: {result.summary()} The chosen model is the session's model."
        )
        if train.write_maps.value:
            train._write_maps_in_background()


def _search_steps(
    patches,
    grid_shape,
    starts,
    ends,
    lambdas,
    model_config,
    train_config,
    workers,
    stop_event,
    aborted,
):
    """A generator for :class:`~napari_ivae._workers.TrainingJob`: runs ``search_beta`` in a
    thread, yields a :class:`SearchEvent` per finished run and returns the SearchResult.
    When ``aborted()`` turns true (Abort) or the generator is closed, the running trainings
    are killed and nothing is returned."""
    from napari_ivae.core.analysis.search import search_beta

    events: queue.Queue = queue.Queue()
    abort = threading.Event()
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = search_beta(
                patches,
                grid_shape,
                beta_starts=starts,
                beta_ends=ends,
                smoothness=lambdas,
                model_config=model_config,
                train_config=train_config,
                workers=workers,
                callback=lambda done, n, one: events.put(SearchEvent(done, n, one)),
                stop_event=stop_event,
                abort_event=abort,
                mp_context="spawn",
            )
        except BaseException as err:  # noqa: BLE001 - re-raised in the generator
            box["error"] = err
        finally:
            events.put(None)

    thread = threading.Thread(target=run, name="ivae-search", daemon=True)
    thread.start()
    try:
        while True:
            try:
                event = events.get(timeout=0.2)
            except queue.Empty:
                if aborted():
                    abort.set()
                    thread.join()
                    yield None  # the worker sees its quit request here: "aborted"
                    return None
                continue
            if event is None:
                break
            yield event
    finally:
        if thread.is_alive():  # closed early (Abort): kill the trainings, wait for the thread
            abort.set()
            thread.join()
    if aborted():
        return None
    if "error" in box:
        raise box["error"]
    return box["result"]


def write_search_layers(viewer: Any, image_layer: Any, result: Any, patchset: Any) -> list:
    """The heat map (an RGB image layer) and the scored z map of each kept run (image layers
    on the source image, below the user's layers; the chosen run's visible)."""
    from napari_ivae import _layers
    from napari_ivae.core.analysis.maps import grid_map
    from napari_ivae.core.analysis.search import heatmap_image

    if image_layer is None or image_layer not in viewer.layers:
        raise InputError("the image the patches came from is no longer in the viewer.")
    written = [
        _layers.write_layer(
            viewer,
            "image",
            heatmap_image(result),
            role="search_heatmap",
            source=image_layer.name,
            what="β(t) search heat map",
            params={"runs": result.table(), "score": "edge"},
            rgb=True,
        )
    ]
    written[0].visible = False
    # the kept maps come best first, the chosen run #1 (a tie within one grid cell may
    # choose one with longer edges)
    for rank, index in enumerate(result.maps):
        run = result.runs[index]
        z = np.asarray(result.maps[index])[run.map_index]
        values = z.reshape(-1)  # the grid's tiles in the patch order
        image = grid_map(values, patchset).astype(np.float32)
        finite = values[np.isfinite(values)]
        low, high = np.percentile(finite, [1, 99]) if finite.size else (0.0, 1.0)
        layer = _layers.write_layer(
            viewer,
            "image",
            image,
            role=f"search_run{rank + 1}_map",
            source=image_layer,
            what=f"search #{rank + 1} map",
            params={"run": result.table()[index]},
            colormap="viridis",
            contrast_limits=(float(low), float(high) if high > low else float(low) + 1.0),
            blending="translucent",
            opacity=0.7,
        )
        # the name says which setting (the role stays per rank, so a new search replaces it)
        layer.name = _layers.result_name(
            image_layer.name, f"search #{rank + 1} z{run.map_index + 1} ({run.label()})"
        )
        layer.visible = index == result.best
        written.append(layer)
    return written
