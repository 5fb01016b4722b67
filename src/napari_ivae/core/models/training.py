"""Training loop: a generator yielding one :class:`TrainEvent` per batch.

``train()`` is a plain generator so that a GUI worker, the CLI or a notebook can drive it,
show progress and stop it between batches (``stop_event``); its return value (the
``StopIteration.value``) is a :class:`TrainResult`. ``fit()`` runs it to completion.

Determinism: every random draw (initial weights of an untrained model, shuffling, latent
noise, pixel subsets) comes from ``torch.Generator``s seeded with ``TrainConfig.seed``; the
caller's global RNG state is not touched.

What each step reads (index batches, streamed patches, pixel subsets) is in
:mod:`~napari_ivae.core.models.batches`, the grid's smoothness terms in
:mod:`~napari_ivae.core.models.grid_smoothness`, the class images' steps after training in
:mod:`~napari_ivae.core.models.class_polish`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from napari_ivae.core.devices import resolve_device
from napari_ivae.core.errors import InputError, IvaeError, TrainingError
from napari_ivae.core.models.batches import (
    _Batches,
    _StreamedPatches,
    _TileBatches,
    pixel_subset,
    training_data,
)
from napari_ivae.core.models.class_polish import _class_images, _polish_class_images
from napari_ivae.core.models.config import TrainConfig
from napari_ivae.core.models.grid_smoothness import grid_neighbours, map_psi, roughness
from napari_ivae.core.validation import as_label_array


@dataclass
class TrainEvent:
    """Progress after one batch."""

    epoch: int
    n_epochs: int
    step: int
    steps_per_epoch: int
    total_steps: int
    loss: float
    terms: dict
    beta: float
    elapsed: float


@dataclass
class TrainResult:
    """What training produced: the (possibly partial) model and how it got there."""

    model: torch.nn.Module
    history: list = field(default_factory=list)
    seed: int = 0
    device: str = "cpu"
    timings: dict = field(default_factory=dict)
    stopped: bool = False
    train_config: TrainConfig | None = None


def _scheduler(optimizer, config: TrainConfig, total_steps: int):
    # OneCycleLR divides by the length of its warm-up phase (25 % of the steps), which is
    # zero for a handful of steps: such short runs keep a constant learning rate
    if config.lr_schedule == "onecycle" and total_steps >= 8:
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            total_steps=total_steps,
            pct_start=0.25,
            div_factor=10.0,
            final_div_factor=100.0,
            cycle_momentum=False,
        )
    if config.lr_schedule == "cosine" and total_steps > 1:
        return torch.optim.lr_scheduler.CosineAnnealingLR(
            optimizer, T_max=total_steps, eta_min=config.lr * 0.01
        )
    return None


def _training_error(err: BaseException) -> TrainingError:
    text = str(err)
    if "out of memory" in text.lower():
        hint = "lower the batch size or pixels_per_step, or train on the CPU"
    else:
        hint = "check that the patches match the model (size, count) and the settings"
    return TrainingError(f"training failed: {text.splitlines()[0] if text else err!r} ({hint})")


def train(
    model,
    patches,
    labels=None,
    config: TrainConfig | None = None,
    stop_event=None,
    grid_shape=None,
    conditions=None,
):
    """Train ``model`` on ``patches``, yielding a :class:`TrainEvent` after every batch.

    Parameters
    ----------
    model : BaseIVAE
        From ``build_model``; an untrained model is re-initialised from ``config.seed``, a
        trained one (normalisation already fitted) is fine-tuned.
    patches : (N, H, W) array, PatchSource or SourcePatches
        Training patches of the model's ``patch_shape``, or a
        :class:`~napari_ivae.core.patches.source.PatchSource` (or its
        :class:`~napari_ivae.core.patches.source.SourcePatches`) to stream them from: each batch
        is then cut when needed through a :class:`~napari_ivae.core.patches.source.PatchReader`
        (a bounded cache of decoded tiles), and the normalisation and PCA start are fitted on
        :func:`~napari_ivae.core.patches.source.sample_positions` (all patches, in order, up to
        ``SAMPLE_PATCHES``: then the run equals the one on the materialised patches). A
        source larger than the cache is visited a group of tiles at a time (unlabeled
        models; ss-rvae batches are drawn over the whole source).
    labels : (N,) int array, optional
        ss-rvae: class per patch, ``-1`` for unlabeled; crvae: the known class of every patch.
    config : TrainConfig, optional
        Defaults to ``TrainConfig.defaults_for(model.config.kind)``.
    stop_event : threading.Event, optional
        When set, training stops after the current batch and the partial model is returned.
    grid_shape : (int, int), optional
        ``(n_rows, n_cols)`` when ``patches`` are grid patches in the grid's order (frame by
        frame, row by row; ``PatchSet.grid_shape``). With ``config.smoothness > 0`` the right
        and lower grid neighbours of every batch's tiles are encoded beside them
        (:func:`grid_neighbours`; the batches themselves are the usual ones) and the loss adds
        ``smoothness`` times the patch's pixel count times the :func:`roughness` of the
        pairs' latent means (``config.smoothness_form``, ``config.smoothness_latents``); with
        ``config.psi_slack > 0`` each epoch's loss is multiplied by ``psi_slack +``
        :func:`map_psi` (both off without a grid).
    conditions : (N, V) float array, optional
        crvae with ``condition_names``: the continuous condition values of every patch.

    Returns
    -------
    TrainResult
        As the generator's return value (``StopIteration.value``).

    Raises
    ------
    InputError, DeviceError
        Bad patches/labels, absent device.
    TrainingError
        Non-finite loss or a torch failure (out of memory, shape mismatch...).
    """
    config = config or TrainConfig.defaults_for(model.config.kind)
    from napari_ivae.core.patches.source import SourcePatches

    data, reader, source, n_data = training_data(patches, model.config.patch_shape, config.seed)
    semi = model.config.kind == "ss-rvae"
    if semi:
        lab = as_label_array(
            labels if labels is not None else np.full(n_data, -1), n_data, model.config.n_classes
        )
    else:
        lab = np.full(n_data, -1, dtype=np.int64)
    cond = None
    if model.config.kind == "crvae":
        from napari_ivae.core.models.crvae import check_conditions

        lab, cond = check_conditions(model, labels, conditions, n_data)
        model.z_class_share = config.z_class_share
    device = resolve_device(config.device)
    t_start = time.perf_counter()
    if not bool(model.norm_fitted):
        model.init_weights(config.seed)
        model.fit_normalization(data)
        # the labeled patches themselves (a source's sample would hold few of them)
        model.fit_class_templates(data if source is None else SourcePatches(source), lab)
        if cond is not None:
            model.fit_conditions(cond)
    if config.lr_for(model.bernoulli) != config.lr:  # the likelihood is known from here
        config = replace(config, lr=config.lr_for(model.bernoulli))
    try:
        model.to(device)
        x_all = (
            torch.from_numpy(data).to(device)
            if reader is None
            else _StreamedPatches(reader, device)
        )
        y_all = torch.from_numpy(lab).to(device)
        c_all = torch.from_numpy(cond).to(device) if cond is not None else None
    except RuntimeError as err:
        raise _training_error(err) from err
    gen = torch.Generator().manual_seed(config.seed)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    batches: _Batches
    smooth = config.smoothness > 0 and grid_shape is not None and not semi
    psi_on = config.psi_slack > 0 and grid_shape is not None and not semi
    if smooth or psi_on:
        per_frame = int(grid_shape[0]) * int(grid_shape[1])
        if per_frame < 1 or n_data % per_frame:
            raise InputError(f"{n_data} patches do not fill whole grids of {tuple(grid_shape)}.")
    if reader is not None and not reader.fits and not (lab >= 0).any():
        batches = _TileBatches(
            torch.from_numpy(lab),
            config.batch_size,
            gen,
            reader.tiles,
            reader.cache_bytes // 2 // max(reader.tile_bytes, 1),
        )
    else:
        batches = _Batches(
            torch.from_numpy(lab), config.batch_size, config.min_labeled_per_batch, gen
        )
    labeled_fraction = float((lab >= 0).mean()) if semi else None
    if semi and len(data) == len(lab) and hasattr(model, "fit_label_noise"):
        model.fit_label_noise(data, lab, config.label_noise)
    if semi:
        model.z_class_weight = config.z_class_weight
        model.fit_pose_consistency(data, config.pose_consistency)
    n_pix = model.n_pixels
    # pixels the spatial decoder evaluates per step (0: all of them)
    per_step = config.pixels_per_step if model.layout.spatial else 0
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    n_epochs = config.epochs_for(batches.steps)
    total = batches.steps * n_epochs
    scheduler = _scheduler(optimizer, config, total)
    # steps after training in which only the class images learn (_polish_class_images)
    n_polish = int(config.class_image_steps) if semi and _class_images(model) is not None else 0

    def event(epoch: int, step: int, loss: float, terms: dict, beta: float) -> TrainEvent:
        return TrainEvent(
            epoch=epoch,
            n_epochs=n_epochs,
            step=step,
            steps_per_epoch=batches.steps,
            total_steps=total + n_polish,
            loss=loss,
            terms=terms,
            beta=beta,
            elapsed=time.perf_counter() - t_start,
        )

    history, stopped, global_step = [], False, 0
    epoch_times = []
    # models trained in phases (jrvae) are told the run's progress before every step
    before_step = getattr(model, "before_step", None)
    model.train()
    sums: dict[str, float]
    for epoch in range(n_epochs):
        t_epoch, sums, count = time.perf_counter(), {}, 0
        factor = config.psi_slack + map_psi(model, x_all, grid_shape) if psi_on else None
        for step, idx in enumerate(batches.epoch()):
            if stop_event is not None and stop_event.is_set():
                stopped = True
                break
            beta = config.beta_at(epoch + step / batches.steps)
            model.z_kl_weight = config.z_kl_at(global_step / total)
            pix = pixel_subset(n_pix, per_step, gen, device)
            idx_d = idx.to(device)
            try:
                if before_step is not None:
                    before_step(global_step, total, x_all, gen)
                x = x_all[idx_d]
                loss, terms = model.loss(
                    x,
                    y_all[idx_d],
                    beta=beta,
                    generator=noise_gen,
                    pixel_index=pix,
                    label_weight=config.label_weight,
                    labeled_fraction=labeled_fraction,
                    **({} if c_all is None else {"conditions": c_all[idx_d]}),
                )
                if smooth:  # each tile's right and lower neighbours, encoded beside it
                    rows, nxt = grid_neighbours(idx, grid_shape)
                    rough = roughness(
                        model,
                        x,
                        rows.to(device),
                        config.smoothness_form,
                        config.smoothness_latents,
                        x_all[nxt.to(device)],
                    )
                    loss = loss + config.smoothness * n_pix * rough
                    terms = {**terms, "roughness": rough.detach()}
                if factor is not None:
                    loss = loss * factor
                    terms = {**terms, "psi_factor": torch.tensor(factor)}
                if not torch.isfinite(loss):
                    raise TrainingError(
                        f"the loss became {float(loss)} at epoch {epoch + 1}, step {step + 1}; "
                        f"lower the learning rate (now {config.lr:g}) or check the patches"
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if config.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
                optimizer.step()
            except IvaeError:
                raise
            except RuntimeError as err:
                raise _training_error(err) from err
            if scheduler is not None:
                scheduler.step()
            global_step += 1
            values = {k: float(v) for k, v in terms.items()}
            loss_value = float(loss.detach())
            for k, v in {"loss": loss_value, **values}.items():
                sums[k] = sums.get(k, 0.0) + v
            count += 1
            yield event(epoch, step, loss_value, values, beta)
        if count:
            seconds = time.perf_counter() - t_epoch
            epoch_times.append(seconds)
            history.append(
                {
                    "epoch": epoch,
                    **{k: v / count for k, v in sums.items()},
                    "beta": beta,
                    "lr": optimizer.param_groups[0]["lr"],
                    "seconds": seconds,
                    "steps": count,
                }
            )
        if stopped:
            break
    polished = 0
    if not stopped and semi:
        polish = _polish_class_images(
            model, x_all, y_all, config, stop_event, labeled_fraction, device
        )
        for loss_value, terms in polish:
            yield event(
                n_epochs - 1,
                batches.steps + polished,
                float(loss_value.detach()),
                {k: float(v) for k, v in terms.items()},
                1.0,
            )
            polished += 1
        stopped = stop_event is not None and stop_event.is_set()
    model.z_kl_weight = 1.0
    model.eval()
    elapsed = time.perf_counter() - t_start
    seen = sum(h["steps"] for h in history) * config.batch_size
    timings = {
        "total_s": elapsed,
        "class_image_steps": polished,
        "epoch_s": epoch_times,
        "patches_per_s": seen / elapsed if elapsed > 0 else float("nan"),
    }
    return TrainResult(
        model=model,
        history=history,
        seed=config.seed,
        device=str(device),
        timings=timings,
        stopped=stopped,
        train_config=config,
    )


def fit(
    model,
    patches,
    labels=None,
    config: TrainConfig | None = None,
    callback=None,
    stop_event=None,
    grid_shape=None,
    conditions=None,
) -> TrainResult:
    """Run :func:`train` to completion; ``callback(event)`` is called after every batch.

    ``grid_shape``, ``conditions``: as in :func:`train`.

    Returns
    -------
    TrainResult
    """
    gen = train(model, patches, labels, config, stop_event, grid_shape, conditions)
    while True:
        try:
            event = next(gen)
        except StopIteration as done:
            return done.value
        if callback is not None:
            callback(event)


__all__ = ["TrainEvent", "TrainResult", "fit", "grid_neighbours", "map_psi", "roughness", "train"]
