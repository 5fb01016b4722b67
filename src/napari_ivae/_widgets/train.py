"""Train dock widget: VAE / rVAE / shift-VAE / ss-rVAE in a background thread, with a live
loss curve, progress and ETA; Stop keeps the partial model, Abort discards it."""

from __future__ import annotations

import threading
import time
from functools import partial
from typing import Any

import napari
import numpy as np
from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSpinBox,
    ProgressBar,
    PushButton,
    SpinBox,
)

from napari_ivae._widgets._common import DockBody, Section, StatusLine, report, while_alive
from napari_ivae._widgets._session import get_session
from napari_ivae._widgets.loss_plot import LossPlot
from napari_ivae._widgets.search import SearchControls
from napari_ivae._workers import TrainingJob
from napari_ivae.core.errors import InputError
from napari_ivae.core.patches.source import as_source

KIND_CHOICES = [
    ("rVAE (rotation + translation)", "rvae"),
    ("shift-VAE (smooth maps)", "shift-vae"),
    ("joint rVAE (finds classes)", "jrvae"),
    ("ss-rVAE (uses your labels)", "ss-rvae"),
    ("conditional rVAE (every patch labeled)", "crvae"),
    ("VAE (no invariance)", "vae"),
]


def trained_bundle(result: Any, config: Any, train_config: Any, extra: dict) -> Any:
    """A ModelBundle for a fresh training result (the same type ``load_model`` returns)."""
    from napari_ivae.core.models.persistence import ModelBundle

    metadata = {
        "kind": config.kind,
        "seed": result.seed,
        "device": result.device,
        "patch_shape": list(config.patch_shape),
        "class_names": list(config.class_names),
        "history": result.history,
        "stopped": result.stopped,
        **extra,
    }
    return ModelBundle(
        model=result.model, config=config, train_config=train_config, metadata=metadata
    )


def _detection_settings(points_layer: Any) -> dict:
    """The detection that made the points the patches were cut at (its parameters as used,
    the widget's settings and the self-check), so a model says where its patches came from."""
    if points_layer is None:
        return {}
    provenance = points_layer.metadata.get("napari_ivae", {})
    if not str(provenance.get("role", "")).startswith("detections_"):
        return {}
    return {key: value for key, value in provenance.items() if key != "counts"}


def check_labels(labels: np.ndarray | None, class_names: list[str]) -> tuple[np.ndarray, list]:
    """Labels for ss-rVAE: at least two classes with labeled patches, classes renumbered."""
    if labels is None or not np.any(np.asarray(labels) >= 0):
        raise InputError(
            "ss-rVAE needs labels: in 'Patches and labels', draw shapes around "
            "example patches of each class (at least two classes)."
        )
    labels = np.asarray(labels, dtype=np.int64)
    used = sorted(int(k) for k in np.unique(labels[labels >= 0]))
    if len(used) < 2:
        name = class_names[used[0]] if used[0] < len(class_names) else used[0]
        raise InputError(
            f"only one class ({name!r}) has labeled patches: draw shapes for at "
            "least one more class, or train an rVAE (unsupervised)."
        )
    remap = np.full(max(used) + 1, -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    out = np.where(labels >= 0, remap[np.clip(labels, 0, None)], -1)
    names = [class_names[k] if k < len(class_names) else f"class {k + 1}" for k in used]
    return out, names


DEVICE_POLL_MS = 250  # how often an open Train dock looks for the warm-up's device list
_warm_up: list[threading.Thread] = []  # the one import thread of this process
_devices_found: list[list[str]] = []  # the devices it found, once known


def warm_up_torch() -> threading.Thread | None:
    """Import torch, and ``torch._dynamo`` (which the first optimizer of the process imports),
    in a background thread, once per process, then list the usable devices
    (:func:`known_devices`); returns the thread (None when started already).

    Imported by the first training run's worker instead, these 3-5 s of module code held the
    GIL in stretches that a loaded machine stretched further: the viewer's GUI thread stood
    still for 0.6-0.7 s at a time (0.1-0.2 s on a second run), while the user watched the
    progress bar wait for its first step. Started when the Train dock opens, the import is
    over before patches are cut.
    """
    if _warm_up:
        return None

    def run() -> None:
        try:
            import torch  # noqa: F401
            import torch._dynamo  # noqa: F401

            from napari_ivae.core.devices import available_devices

            _devices_found.append(list(available_devices()))
        except Exception:  # noqa: BLE001 - a training run imports (and reports) it again
            _devices_found.append(["cpu"])

    thread = threading.Thread(target=run, name="napari-ivae torch import", daemon=True)
    _warm_up.append(thread)
    thread.start()
    return thread


def known_devices() -> list[str] | None:
    """The usable devices (``["cpu", "cuda:0"]``...) once the warm-up has listed them, else
    None: listing them imports torch, which the dock must not do in the GUI thread."""
    return list(_devices_found[0]) if _devices_found else None


class TrainWidget(DockBody):
    """Train an invariant VAE on the current patches without freezing the viewer."""

    def __init__(self, viewer: napari.viewer.Viewer) -> None:
        super().__init__()
        self._viewer = viewer
        self._session = get_session(viewer)
        self.job: TrainingJob | None = None
        self._results_worker = None
        self._started = 0.0
        self.kind = ComboBox(choices=KIND_CHOICES, value="rvae", label="model")
        self.latent_dim = SpinBox(value=2, min=1, max=64, label="latent size")
        self.n_classes = SpinBox(
            value=4,
            min=2,
            max=64,
            label="classes",
            visible=False,
            tooltip="joint rVAE: number of classes to find (no labels)",
        )
        self.rotation = CheckBox(value=True, text="rotation invariant")
        self.translation = CheckBox(value=True, text="translation invariant")
        self.angle_prior_kind = ComboBox(
            choices=[("normal (papers)", "normal"), ("von Mises (circular)", "von_mises")],
            value="normal",
            label="angle prior",
        )
        self.angle_prior = FloatSpinBox(
            value=1.0, min=0.01, max=100.0, step=0.1, label="angle prior σ (rad)"
        )
        self.translation_prior = FloatSpinBox(
            value=0.1, min=0.001, max=1.0, step=0.01, label="shift prior σ"
        )
        self.shift_scale = FloatSpinBox(
            value=1.0, min=0.01, max=1.0, step=0.05, label="shift k", visible=False
        )
        self.beta_start = FloatSpinBox(value=1.0, min=0.0, max=100.0, step=0.1, label="β start")
        self.beta_end = FloatSpinBox(value=1.0, min=0.0, max=100.0, step=0.1, label="β end")
        self.beta_ramp = SpinBox(value=0, min=0, max=10000, label="β ramp (epochs)")
        self.smoothness = FloatSpinBox(
            value=0.0,
            min=0.0,
            max=1000.0,
            step=0.1,
            label="map smoothness λ",
            tooltip="grid patches only: weight (per patch pixel) of the latent maps' roughness "
            "across neighbouring tiles (0 = off; 2 shortened the phase boundary by 42-75 % "
            "on two real images at 1.4-1.7 % worse reconstruction)",
        )
        self.smoothness_latents = ComboBox(
            choices=[("z1 only (the phase map)", 1), ("all z", 0)],
            value=1,
            label="smooth",
            tooltip="z1 only: z1 becomes the phase map to segment, the other z keep the "
            "detail; all z: every latent map is smoothed",
        )
        self.smoothness_form = ComboBox(
            choices=[
                ("relative TV (scale-free)", "tv-relative"),
                ("TV (total variation)", "tv"),
                ("Gaussian MRF (squared)", "gmrf"),
            ],
            value="tv-relative",
            label="smoothness form",
            tooltip="relative TV: differences over the map's spread, so the map cannot shrink "
            "instead of smoothing; TV: absolute differences; MRF: squared differences",
        )
        self.epochs = SpinBox(value=30, min=1, max=100000, label="epochs")
        self.min_steps = SpinBox(
            value=0,
            min=0,
            max=10_000_000,
            label="min steps",
            tooltip="train at least this many optimizer steps: the epochs "
            "are raised on small patch sets (0 = exactly the "
            "epochs above)",
        )
        self.batch_size = SpinBox(value=128, min=1, max=100000, label="batch size")
        self.lr = FloatSpinBox(
            value=1e-3,
            min=1e-6,
            max=1.0,
            step=1e-4,
            label="learning rate",
            tooltip="peak learning rate (Adam). Left at the default, the rVAE takes 0.003 on "
            "near-binary patches (e.g. cut-out shapes); a value you set is used as it is",
        )
        self.lr.native.setDecimals(6)
        self.seed = SpinBox(value=0, min=0, max=2**31 - 1, label="seed")
        # the CPU until the warm-up has imported torch and listed the others (a GPU, MPS)
        self.device = ComboBox(choices=known_devices() or ["cpu"], label="device")
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

    def _offer_devices(self) -> None:
        """Offer the devices the warm-up found (the choice made meanwhile is kept)."""
        found = known_devices()
        if found is None:
            return
        self._devices_timer.stop()
        if list(self.device.choices) != found:
            chosen = self.device.value
            self.device.choices = found
            self.device.value = chosen if chosen in found else found[0]

    # ---- parameters ---------------------------------------------------------------------
    def _on_kind(self, kind: str) -> None:
        from napari_ivae.core.models.config import TrainConfig, default_translation_prior

        defaults = TrainConfig.defaults_for(kind)
        self.epochs.value, self.batch_size.value = defaults.epochs, defaults.batch_size
        self.min_steps.value = defaults.min_steps
        self.lr.value = defaults.lr
        self.beta_start.value, self.beta_end.value = defaults.beta_start, defaults.beta_end
        self.beta_ramp.value = defaults.beta_ramp_epochs
        rotating = kind in ("rvae", "ss-rvae", "jrvae", "crvae")
        self.n_classes.visible = kind == "jrvae"
        self.rotation.visible = self.translation.visible = rotating
        self.angle_prior.visible = self.angle_prior_kind.visible = rotating
        self.translation_prior.visible = kind != "vae"
        self.translation_prior.value = default_translation_prior(kind)
        self.shift_scale.visible = kind == "shift-vae"

    def configs(self, patch_shape: tuple, class_names: list[str] | None = None) -> tuple:
        """``(ModelConfig, TrainConfig)`` from the widget's values."""
        from napari_ivae.core.models.config import ModelConfig, TrainConfig

        kind = self.kind.value
        invariances = tuple(
            name
            for name, box in (("rotation", self.rotation), ("translation", self.translation))
            if box.value
        )
        names = tuple(class_names or ())
        if kind == "jrvae":
            names = tuple(f"class {i + 1}" for i in range(self.n_classes.value))
        model_config = ModelConfig(
            kind=kind,
            patch_shape=tuple(patch_shape),
            latent_dim=self.latent_dim.value,
            invariances=invariances,
            translation_prior=self.translation_prior.value,
            angle_prior=self.angle_prior_kind.value,
            angle_prior_scale=self.angle_prior.value,
            shift_scale=self.shift_scale.value,
            n_classes=len(names),
            class_names=names,
        )
        train_config = TrainConfig.defaults_for(
            kind,
            epochs=self.epochs.value,
            batch_size=self.batch_size.value,
            lr=self.lr.value,
            seed=self.seed.value,
            device=self.device.value,
            min_steps=self.min_steps.value,
            beta_start=self.beta_start.value,
            beta_end=self.beta_end.value,
            beta_ramp_epochs=self.beta_ramp.value,
            smoothness=self.smoothness.value if kind != "ss-rvae" else 0.0,
            smoothness_form=self.smoothness_form.value,
            smoothness_latents=self.smoothness_latents.value,
        )
        return model_config, train_config

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


ETA_WINDOW = 50  # steps whose measured duration predicts the rest


def eta_text(step_times: list[float], remaining: int) -> str:
    """Time left from the measured duration of the last steps (median of at most
    :data:`ETA_WINDOW` intervals), not from the time since Start (which includes building the
    model); ``"measuring..."`` until two steps have arrived."""
    if remaining <= 0:
        return "0 s"
    if len(step_times) < 2:
        return "measuring..."
    intervals = sorted(b - a for a, b in zip(step_times[:-1], step_times[1:]))
    return _duration(intervals[len(intervals) // 2] * remaining)


def planned_steps(labels: Any, n_patches: int, batch_size: int, min_labeled: int) -> int:
    """The steps of one training epoch, as the trainer's batches count them: plain batches,
    or (``labels`` with labeled and unlabeled patches: ss-rVAE) batches of unlabeled
    patches, each joined by its share of labeled ones
    (:class:`napari_ivae.core.models.batches._Batches`)."""
    n_labeled = 0 if labels is None else int(np.sum(np.asarray(labels) >= 0))
    if n_labeled == 0 or n_labeled == n_patches:
        return int(np.ceil(n_patches / max(min(batch_size, n_patches), 1)))
    share = round(batch_size * n_labeled / n_patches)
    n_lab = min(n_labeled, max(min_labeled, share, 1), max(batch_size - 1, 1))
    return int(np.ceil((n_patches - n_labeled) / max(batch_size - n_lab, 1)))


def polish_steps(model_config: Any, train_config: Any, labels: Any) -> int:
    """The steps after training in which only the class images learn: an ss-rVAE with class
    images (:func:`napari_ivae.core.models.class_polish._polish_class_images`), else 0."""
    if model_config.kind != "ss-rvae" or not model_config.class_template or labels is None:
        return 0
    return int(train_config.class_image_steps)


def epochs_run(history: list[dict], steps_per_epoch: int | None) -> str:
    """The training actually run, from the per-epoch history: "30 epochs", or "2 epochs + 17
    of 55 steps" after a stop mid-epoch (the history's last entry is then partial)."""
    steps = [int(h.get("steps", 0)) for h in history]
    per_epoch = int(steps_per_epoch or max(steps, default=0))
    complete = sum(1 for n in steps if n >= per_epoch > 0)
    text = f"{complete} epoch{'s' * (complete != 1)}"
    if steps and 0 < steps[-1] < per_epoch:
        text += f" + {steps[-1]} of {per_epoch} steps"
    return text


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}" if seconds >= 60 else f"{seconds} s"
