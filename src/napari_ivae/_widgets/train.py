"""Train dock widget: VAE / rVAE / shift-VAE / ss-rVAE in a background thread, with a live
loss curve, progress and ETA; Stop keeps the partial model, Abort discards it."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import napari
import numpy as np
from magicgui.widgets import CheckBox, Container, ProgressBar, PushButton

from napari_ivae._widgets._common import DockBody, Section, StatusLine, report, while_alive
from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.loss_plot import LossPlot
from napari_ivae._widgets.search import SearchControls
from napari_ivae._widgets.torch_warm_up import (  # noqa: F401 - importable from here
    DEVICE_POLL_MS,
    _devices_found,
    _warm_up,
    known_devices,
    warm_up_torch,
)
from napari_ivae._widgets.train_parameters import KIND_CHOICES, TrainParameters  # noqa: F401
from napari_ivae._widgets.train_runs import (  # noqa: F401 - importable from here as before
    ETA_WINDOW,
    _detection_settings,
    _duration,
    check_labels,
    epochs_run,
    eta_text,
    planned_steps,
    polish_steps,
    trained_bundle,
)
from napari_ivae._workers import TrainingJob
from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.source import as_source


class TrainWidget(TrainParameters, DockBody):
    """Train an invariant VAE on the current patches without freezing the viewer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._session = get_session(viewer)
        self.job: TrainingJob | None = None
        self._results_worker = None
        self._started = 0.0
        self._make_parameters()
        self.write_maps = CheckBox(value=True, text="write maps when done")
        self.start_button = PushButton(text="Start")
        self.stop_button = PushButton(text="Stop (keep model)", enabled=False)
        self.abort_button = PushButton(text="Abort", enabled=False)
        self.progress = ProgressBar(value=0, min=0, max=1, label="progress")
        self.eta = StatusLine()  # wraps: a long readout never widens the dock
        self.loss_plot = LossPlot()
        self.show_terms = CheckBox(
            value=False,
            text="show loss terms",
            tooltip="Each term of the loss (reconstruction, KL, classifier...) in a row of its own",
        )
        self._step_times: list[float] = []  # when the last steps arrived (for the ETA)
        self._steps_per_epoch: int | None = None
        self._announced: tuple | None = None  # what the status said would be trained
        self._polish_steps = 0  # steps of the ss-rVAE's class images after training
        self._final_readout = ""  # what the readout keeps after a run (a stop, an abort)
        self.status = StatusLine()
        self.search = SearchControls(self)
        buttons = Container(
            widgets=[self.start_button, self.stop_button, self.abort_button],
            layout="horizontal",
            labels=False,
        )
        buttons.margins = (0, 0, 0, 0)
        self.lay_out(
            [
                [self.kind, self.latent_dim, self.n_classes, self.epochs, self.write_maps],
                Section(
                    "advanced",
                    [
                        self.rotation,
                        self.translation,
                        self.angle_prior_kind,
                        self.angle_prior,
                        self.translation_prior,
                        self.shift_scale,
                        self.beta_start,
                        self.beta_end,
                        self.beta_ramp,
                        self.smoothness,
                        self.smoothness_latents,
                        self.smoothness_form,
                        self.min_steps,
                        self.batch_size,
                        self.lr,
                        self.seed,
                        self.device,
                    ],
                    folded=True,
                ),
                Section("β(t) search (grid patches)", self.search.widgets, folded=True),
                [buttons, self.progress, self.eta, self.show_terms],
                self.loss_plot,
                self.status,
            ]
        )
        self.kind.changed.connect(self._on_kind)
        self.show_terms.changed.connect(self.loss_plot.set_show_terms)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.abort_button.clicked.connect(self.abort)
        self._on_kind(self.kind.value)
        from qtpy.QtCore import QTimer

        # while the user detects and cuts patches, not at the first Start; begun once the dock
        # is built, so that the import's GIL stretches do not slow its construction
        QTimer.singleShot(0, warm_up_torch)
        if known_devices() is None:
            self._devices_timer = QTimer(self.native)
            self._devices_timer.setInterval(DEVICE_POLL_MS)
            self._devices_timer.timeout.connect(self._offer_devices)
            self._devices_timer.start()

    # ---- running ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while a training run (or the writing of its maps) is in progress."""
        return self.job is not None or self._results_worker is not None

    def start(self) -> TrainingJob | None:
        """Start training on the session's patches (and labels for ss-rVAE)."""
        if self.busy:
            return None
        try:
            job = self._make_job()
        except Exception as err:  # noqa: BLE001 - shown to the user
            report(self.status, err)
            return None
        self.loss_plot.clear()
        self._step_times, self._steps_per_epoch = [], None
        return self.run_job(job, on_step=self._on_step, on_returned=self._on_returned)

    def run_job(self, job: TrainingJob, *, on_step: Any, on_returned: Any) -> TrainingJob:
        """Start ``job`` as this widget's run: its progress, Stop, Abort and status (training,
        or the β(t) search of :mod:`napari_ivae._widgets.search`)."""
        self.job = job
        worker = job.worker
        alive = partial(while_alive, self)
        worker.yielded.connect(alive(on_step))
        worker.returned.connect(alive(on_returned))
        worker.errored.connect(alive(lambda err: report(self.status, err)))
        worker.aborted.connect(alive(self._on_aborted))
        worker.finished.connect(alive(self._idle))
        self.native.destroyed.connect(job.abort)  # widget or viewer closed: stop the thread
        self._reset_bar()
        self._set_running(True)
        # until the first step: building the model and fitting its start take seconds
        self.eta.value = "preparing the model before the first step..."
        self._started = time.perf_counter()
        job.start()
        return job

    def _make_job(self) -> TrainingJob:
        patchset = self._session.patchset
        if patchset is None:
            raise InputError(
                "no patches yet: open 'Patches and labels' and click 'Extract patches' first."
            )
        patches = patchset.patches  # cut on demand (a lazy layer's SourcePatches): streamed
        if as_source(patches) is None:
            patches = np.ascontiguousarray(patches, dtype=np.float32)
        labels, names = None, []
        if self.kind.value in ("ss-rvae", "crvae"):
            labels, names = check_labels(self._session.labels, list(self._session.classes.names))
            if self.kind.value == "crvae" and np.any(labels < 0):
                raise InputError(
                    f"a conditional rVAE needs the class of every patch: "
                    f"{int(np.sum(labels < 0))} of {len(labels)} are unlabeled "
                    "(label them all, or train an ss-rVAE)."
                )
        if self.kind.value == "jrvae" and self.n_classes.value > len(patches):
            raise InputError(  # at once: the k-means start after the warm-up failed on it
                f"'classes' {self.n_classes.value} is more than the {len(patches)} patches; "
                "ask for at most that many classes or extract more patches."
            )
        model_config, train_config = self.configs(patches.shape[1:], names)
        if (
            self.kind.value not in ("ss-rvae", "crvae")
            and self._session.labels is not None
            and np.any(np.asarray(self._session.labels) >= 0)
        ):
            self.status.ok("note: labels are used only by ss-rVAE.")
        extra = self.provenance(patchset)
        self._pending = (model_config, train_config, extra)
        grid_shape = tuple(patchset.grid_shape) if getattr(patchset, "is_grid", False) else None
        if train_config.smoothness > 0 and grid_shape is None:
            self.status.ok("note: map smoothness needs grid patches; it is off for these.")
        steps = planned_steps(
            labels if model_config.kind == "ss-rvae" else None,
            len(patches),
            train_config.batch_size,
            train_config.min_labeled_per_batch,
        )
        epochs = train_config.epochs_for(steps)
        # the ss-rVAE's class images learn alone for these steps after training: in the bar
        # from the start, so its total does not grow at the first step
        self._polish_steps = polish_steps(model_config, train_config, labels)
        total = epochs * steps + self._polish_steps
        self.progress.max = total
        self.progress.value = 0
        self._reset_bar()
        self._announce(model_config.kind, len(patches), epochs, train_config)

        def make_generator(stop_event):
            from napari_ivae.core.models import build_model
            from napari_ivae.core.models.training import train

            model = build_model(model_config)
            return train(
                model, patches, labels, train_config, stop_event=stop_event, grid_shape=grid_shape
            )

        return TrainingJob(make_generator, total=total, desc=f"training {model_config.kind}")

    def provenance(self, patchset: Any) -> dict:
        """Where a model's patches came from (saved with the model)."""
        return {
            "source": getattr(self._session.image_layer, "name", ""),
            "patch_params": dict(self._session.patch_params),
            "normalization": dict(getattr(patchset, "normalization", {}) or {}),
            "detection": _detection_settings(self._session.points_layer),
        }

    def _announce(self, kind: str, n_patches: int, epochs: int, train_config: Any) -> None:
        raised = (
            f", raised from {train_config.epochs} to make at least "
            f"{train_config.min_steps} steps on a small set: 'min steps' 0 trains "
            "exactly the epochs set"
            if epochs > train_config.epochs
            else ""
        )
        polish = getattr(self, "_polish_steps", 0)
        then = f", then {polish} steps of the class images alone" if polish else ""
        self.status.ok(
            f"training {kind} on {n_patches} patches "
            f"({epochs} epochs{raised}{then}, seed {train_config.seed})..."
        )
        self._announced = (kind, n_patches, epochs, train_config)

    def stop(self) -> None:
        """Stop after the current batch and keep the partially trained model."""
        if self.job is not None:
            self.status.ok("stopping after this batch; the model will be kept...")
            self.job.stop()

    def abort(self) -> None:
        """Abort and discard the model."""
        if self.job is not None:
            self.status.ok("aborting...")
            self.job.abort()

    def _on_step(self, event: Any) -> None:
        total = int(getattr(event, "total_steps", 0) or self.progress.max)
        done = int(event.epoch) * int(event.steps_per_epoch) + int(event.step) + 1
        self.progress.max = max(total, 1)
        self.progress.value = min(done, total)
        self.loss_plot.add(
            float(event.loss),
            dict(getattr(event, "terms", {}) or {}),
            int(event.epoch),
            int(event.steps_per_epoch),
        )
        self._step_times = (self._step_times + [time.perf_counter()])[-ETA_WINDOW - 1 :]
        self._steps_per_epoch = int(event.steps_per_epoch)
        announced = self._announced
        if announced is not None and announced[2] != int(event.n_epochs):
            # the trainer batches labeled sets its own way: say the epochs it really runs
            self._announce(*announced[:2], int(event.n_epochs), announced[3])
        eta = eta_text(self._step_times, max(total - done, 0))
        if int(event.step) >= int(event.steps_per_epoch):  # after training (ss-rVAE)
            polished = int(event.step) - int(event.steps_per_epoch) + 1
            self.eta.value = (
                f"class images: step {polished}/{self._polish_steps or polished} after "
                f"training (only they learn)  loss {event.loss:.4g}  ETA {eta}"
            )
            return
        self.eta.value = (
            f"epoch {event.epoch + 1}/{event.n_epochs}  loss {event.loss:.4g}  "
            f"β {event.beta:.2g}  ETA {eta}"
        )

    def _on_returned(self, result: Any) -> None:
        if self.job is None or self.job.aborted:
            return
        model_config, train_config, extra = self._pending
        bundle = trained_bundle(result, model_config, train_config, extra)
        self._session.update(bundle=bundle, train_result=result)
        elapsed = time.perf_counter() - self._started
        how = "stopped early, partial model kept" if result.stopped else "done"
        if result.stopped:
            self._end_bar("stopped", "the model trained so far was kept")
        run = epochs_run(result.history, self._steps_per_epoch)
        self.status.ok(
            f"{model_config.kind} trained on {result.device} in {_duration(elapsed)} "
            f"({run}, seed {result.seed}; {how})."
        )
        if self.write_maps.value:
            self._write_maps_in_background()

    def _write_maps_in_background(self) -> None:
        from napari_ivae._widgets._writer import mark_results_stale, results_job

        trained = self.status.value

        def done(written: list) -> None:
            self._results_worker = None
            notes = self._session.result_notes
            if notes:
                self.status.warn(
                    trained
                    + f" Wrote {len(written)} result layers. Check: "
                    + "; ".join(notes)
                    + "."
                )
            else:
                self.status.ok(trained + f" Wrote {len(written)} result layers.")
            self._set_running(self.busy)

        def failed(err: Exception) -> None:
            self._results_worker = None
            mark_results_stale(self._viewer, self._session)  # the maps are the old model's
            report(self.status, err)
            self._set_running(self.busy)

        try:
            self._results_worker = results_job(
                self._viewer, self._session, while_alive(self, done), while_alive(self, failed)
            )
        except Exception as err:  # noqa: BLE001 - shown to the user
            mark_results_stale(self._viewer, self._session)
            report(self.status, err)
            return
        self.status.ok(trained + " Writing maps...")

    def _on_aborted(self) -> None:
        self.status.ok("aborted: the model was discarded.")
        self._end_bar("aborted", "the model was discarded")

    def _reset_bar(self) -> None:
        self._final_readout = ""
        self.progress.native.setFormat("%p%")

    def _end_bar(self, how: str, model: str, unit: str = "step") -> None:
        """A run that ended before its last step (``unit``: a β(t) search's runs): the bar and
        the readout say so (the bar left at its fraction read as a run that hangs)."""
        done, total = int(self.progress.value), int(self.progress.max)
        self.progress.native.setFormat(f"{how} at %p%")
        self._final_readout = f"{how} at {unit} {done} of {total}: {model}."
        self.eta.value = self._final_readout

    def _idle(self) -> None:
        self.job = None
        self._set_running(self.busy)

    def _set_running(self, running: bool) -> None:
        self.start_button.enabled = self.search.button.enabled = not running
        self.stop_button.enabled = self.abort_button.enabled = running and self.job is not None
        if not running:
            self.eta.value = self._final_readout
        if self._session.training != running:  # the patches are in use: others must wait
            self._session.training = running
