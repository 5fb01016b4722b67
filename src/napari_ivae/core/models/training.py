"""Training loop: a generator yielding one :class:`TrainEvent` per batch.

``train()`` is a plain generator so that a GUI worker, the CLI or a notebook can drive it,
show progress and stop it between batches (``stop_event``); its return value (the
``StopIteration.value``) is a :class:`TrainResult`. ``fit()`` runs it to completion.

Determinism: every random draw (initial weights of an untrained model, shuffling, latent
noise, pixel subsets) comes from ``torch.Generator``s seeded with ``TrainConfig.seed``; the
caller's global RNG state is not touched.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from napari_ivae.core.devices import resolve_device
from napari_ivae.core.errors import InputError, IvaeError, TrainingError
from napari_ivae.core.models.config import TrainConfig
from napari_ivae.core.validation import as_label_array, as_patch_array


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


class _Batches:
    """Index batches; for semi-supervised data every batch carries labeled patches."""

    def __init__(self, labels, batch_size, min_labeled, generator):
        self.gen = generator
        n = len(labels)
        self.labeled = torch.nonzero(labels >= 0).flatten()
        if len(self.labeled) == 0:  # one index array only (millions of streamed patches)
            self.unlabeled = torch.arange(n)
        else:
            self.unlabeled = torch.nonzero(labels < 0).flatten()
        n_l, n_u = len(self.labeled), len(self.unlabeled)
        if n_l == 0 or n_u == 0:  # fully (un)supervised: plain shuffled batches
            self.pool, self.n_lab = (self.unlabeled if n_l == 0 else torch.arange(n)), 0
            self.n_unl = min(batch_size, n)
        else:
            share = round(batch_size * n_l / n)
            self.n_lab = min(n_l, max(min_labeled, share, 1), max(batch_size - 1, 1))
            self.n_unl = max(batch_size - self.n_lab, 1)
            self.pool = self.unlabeled
        self.steps = math.ceil(len(self.pool) / self.n_unl)
        self._lab_queue = torch.empty(0, dtype=torch.long)

    def _take_labeled(self):
        while len(self._lab_queue) < self.n_lab:
            perm = self.labeled[torch.randperm(len(self.labeled), generator=self.gen)]
            self._lab_queue = torch.cat([self._lab_queue, perm])
        out, self._lab_queue = self._lab_queue[: self.n_lab], self._lab_queue[self.n_lab :]
        return out

    def _order(self):
        return self.pool[torch.randperm(len(self.pool), generator=self.gen)]

    def epoch(self):
        order = self._order()
        for i in range(self.steps):
            idx = order[i * self.n_unl : (i + 1) * self.n_unl]
            if self.n_lab:
                idx = torch.cat([self._take_labeled(), idx])
            yield idx


class _TileBatches(_Batches):
    """Unlabeled batches of a patch source too large for the reader's tile cache: each epoch
    visits the tiles in a random order, ``per_group`` tiles at a time, and shuffles the
    patches within each group (so a batch reads from the cached tiles only). The patches are
    sorted by tile once; an epoch's order is then filled group by group, so that no
    temporary the size of the whole set is made but the order itself."""

    def __init__(self, labels, batch_size, generator, tiles, per_group):
        super().__init__(labels, batch_size, 0, generator)
        self.per_group = max(int(per_group), 1)
        tiles = np.asarray(tiles)
        everyone = len(self.pool) == len(tiles)  # (then the pool is every patch, in order)
        pool_tiles = tiles if everyone else tiles[self.pool.numpy()]
        counts = np.bincount(pool_tiles)
        self.n_tiles = len(counts)
        self.bounds = np.concatenate([[0], np.cumsum(counts)])
        by_tile = torch.from_numpy(np.argsort(pool_tiles, kind="stable"))
        del pool_tiles
        # the pool, sorted by tile, replaces the pool (its order is never used)
        self.pool = self.unlabeled = by_tile if everyone else self.pool[by_tile]

    def _order(self):
        order = torch.empty(len(self.pool), dtype=torch.long)
        tiles = torch.randperm(self.n_tiles, generator=self.gen).numpy()
        filled = 0
        for first in range(0, self.n_tiles, self.per_group):
            group = [
                self.pool[self.bounds[t] : self.bounds[t + 1]]
                for t in tiles[first : first + self.per_group]
            ]
            members = torch.cat(group)  # (never empty: first < n_tiles)
            order[filled : filled + len(members)] = members[
                torch.randperm(len(members), generator=self.gen)
            ]
            filled += len(members)
        return order


class _StreamedPatches:
    """The patches of a :class:`~napari_ivae.core.patches.source.PatchSource` as training reads
    them: ``x[idx]`` (indices or a slice) cuts just those patches, through the reader's cache
    of decoded tiles, onto ``device``."""

    def __init__(self, reader, device):
        self.reader, self.device = reader, torch.device(device)

    def __len__(self) -> int:
        return len(self.reader)

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, slice):
            positions = np.arange(len(self))[key]
        else:
            positions = torch.as_tensor(key).cpu().numpy()
        return torch.from_numpy(self.reader.read(positions)).to(self.device)


def grid_neighbours(idx: torch.Tensor, grid_shape) -> tuple[torch.Tensor, torch.Tensor]:
    """The right and lower grid neighbours of the tiles ``idx``.

    ``idx`` indexes whole grids of ``grid_shape`` (frame by frame, row by row). Returns
    ``(rows, neighbours)``: the positions in ``idx`` of the tiles that have a right (then: a
    lower) neighbour in their frame, and those neighbours' indices, one for one (a tile at
    neither edge appears twice).
    """
    n_rows, n_cols = int(grid_shape[0]), int(grid_shape[1])
    within = idx % (n_rows * n_cols)
    right, down = within % n_cols + 1 < n_cols, within // n_cols + 1 < n_rows
    rows = torch.cat([torch.nonzero(right).flatten(), torch.nonzero(down).flatten()])
    return rows, torch.cat([idx[right] + 1, idx[down] + n_cols])


def roughness(
    model,
    x: torch.Tensor,
    block,
    form: str = "tv",
    latents: int = 0,
    x_next: torch.Tensor | None = None,
) -> torch.Tensor:
    """Roughness of the encoded latent means across neighbouring grid tiles.

    ``block`` is ``(bh, bw)`` when ``x`` holds the ``bh * bw`` patches of one block of the
    grid, row-major (the pairs: right and lower neighbours inside it), or a tensor ``rows``
    of positions in ``x`` when ``x_next`` holds, one for one, a grid neighbour of each
    ``x[rows]`` (:func:`grid_neighbours`; training's form). Summed over z's dimensions (the
    first ``latents`` only, when > 0: designated phase latents) and the pairs, per tile of
    ``x`` (so it is comparable with the per-patch ELBO): ``|mu(tile) - mu(neighbour)|``
    (``form="tv"``), its square (``"gmrf"``, the energy of a Gaussian Markov random field),
    or the absolute difference over the dimension's standard deviation across ``x``
    (``"tv-relative"``: scale-free, so the encoder cannot meet it by shrinking the map, only
    by smoothing it).
    """
    z_slice = model.layout.slices()["z"]

    def means(patches):
        mean, _ = model.encode_gaussian(model.normalize(patches))
        z = mean[:, z_slice]
        return z[:, :latents] if latents > 0 else z

    z = means(x)
    if x_next is None:  # x is one (bh, bw) block: its own tiles are each other's neighbours
        rows, neighbours = grid_neighbours(torch.arange(len(z), device=z.device), block)
        diff = z[rows] - z[neighbours]
    else:
        diff = z[block] - means(x_next)
    if form == "gmrf":
        return diff.square().sum() / len(z)
    if form == "tv-relative":
        if len(z) < 2:  # one tile (a last batch of one): no spread to measure against
            return diff.abs().sum() * 0.0
        diff = diff / (z.std(dim=0, keepdim=True) + 1e-3)
    return diff.abs().sum() / len(z)


def map_psi(model, x_all: torch.Tensor | _StreamedPatches, grid_shape) -> float:
    """The physics-driven VAE's ``Psi``: mean edge length of the z maps over the grid's mean side.

    Every tile (of a tensor, or streamed from a patch source) is encoded (posterior means, no
    gradient); each z dimension's map is scored by
    :func:`napari_ivae.core.analysis.segmentation.edge_length`, frame by frame, and the scores averaged.
    """
    from napari_ivae.core.analysis.segmentation import edge_length

    n_rows, n_cols = (int(s) for s in grid_shape)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        means = [
            model.encode_gaussian(model.normalize(x_all[i : i + 1024]))[0]
            for i in range(0, len(x_all), 1024)
        ]
    model.train(was_training)
    z = torch.cat(means)[:, model.layout.slices()["z"]].cpu().numpy()
    maps = z.reshape(-1, n_rows, n_cols, z.shape[1])
    scores = [edge_length(maps[f, :, :, d]) for f in range(len(maps)) for d in range(z.shape[1])]
    return float(np.mean(scores)) / ((n_rows + n_cols) / 2)


def _class_images(model):
    """The decoder's class images (``ModelConfig.class_template``), or None."""
    return getattr(getattr(model, "decoder", None), "class_template", None)


def _polish_class_images(
    model, x_all, y_all, config: TrainConfig, stop_event, labeled_fraction, device
):
    """After training: ``class_image_steps`` steps in which only the decoder's class images
    learn (every other parameter held), at ``class_image_rate`` times the learning rate,
    decaying to 0 on a half cosine; batches and pixel subsets from a generator of their own
    (``seed + 2``), so training before it is unchanged. Yields ``(loss, terms)`` per step.

    Adam moves each parameter by about the learning rate per step, so class images started
    at 0 and learnt with everything else stay faint (logits within about +/-1.5 after the
    ss-rVAE's 1 200 steps) and the class traversal draws blurred suits; learnt faster while
    the classifier is still learning, sharp images pull q(y|x) towards whichever image fits
    a patch best (docs/performance.md). Here the classifier, encoder and decoder network are
    fixed: the images sharpen towards what the model's classes already hold."""
    images = _class_images(model)
    steps = int(config.class_image_steps)
    if images is None or steps <= 0:
        return
    others = [p for p in model.parameters() if p is not images]
    flags = [p.requires_grad for p in others]
    for p in others:
        p.requires_grad_(False)
    optimizer = torch.optim.Adam([images], lr=config.lr * config.class_image_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda t: 0.5 * (1.0 + math.cos(math.pi * t / steps))
    )
    gen = torch.Generator().manual_seed(config.seed + 2)
    noise_gen = torch.Generator(device=device).manual_seed(config.seed + 3)
    labels = y_all.cpu()
    batches = _Batches(labels, config.batch_size, config.min_labeled_per_batch, gen)
    n_pix = model.n_pixels
    subsample = 0 < config.pixels_per_step < n_pix
    consistency = getattr(model, "pose_consistency", 0.0)
    if consistency:
        model.pose_consistency = 0.0  # the encoder is fixed: its angle term has no use here
    model.z_kl_weight = 1.0
    model.train()
    try:
        done, order = 0, batches.epoch()
        while done < steps:
            if stop_event is not None and stop_event.is_set():
                return
            idx = next(order, None)
            if idx is None:
                order = batches.epoch()
                continue
            pix = (
                torch.randperm(n_pix, generator=gen)[: config.pixels_per_step].to(device)
                if subsample
                else None
            )
            idx_d = idx.to(device)
            loss, terms = model.loss(
                x_all[idx_d],
                y_all[idx_d],
                beta=1.0,
                generator=noise_gen,
                pixel_index=pix,
                label_weight=config.label_weight,
                labeled_fraction=labeled_fraction,
            )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            done += 1
            yield loss, terms
    finally:
        if consistency:
            model.pose_consistency = consistency
        for p, flag in zip(others, flags, strict=True):
            p.requires_grad_(flag)


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
    from napari_ivae.core.patches.source import (
        PatchReader,
        SourcePatches,
        as_source,
        sample_positions,
    )

    reader, source = None, as_source(patches)
    if source is not None:
        patches = source
        if tuple(patches.patch_shape) != tuple(model.config.patch_shape):
            raise InputError(
                f"the source cuts {tuple(patches.patch_shape)} px patches, the "
                f"model reads {tuple(model.config.patch_shape)}"
            )
        reader = PatchReader(patches)
        sample = sample_positions(len(patches), config.seed)
        data = as_patch_array(reader.read(sample), model.config.patch_shape)
        n_data = len(patches)
    else:
        data = as_patch_array(patches, model.config.patch_shape)
        n_data = len(data)
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
    subsample = model.layout.spatial and 0 < config.pixels_per_step < n_pix
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    n_epochs = config.epochs_for(batches.steps)
    total = batches.steps * n_epochs
    scheduler = _scheduler(optimizer, config, total)
    # steps after training in which only the class images learn (_polish_class_images)
    n_polish = int(config.class_image_steps) if semi and _class_images(model) is not None else 0
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
            pix = (
                torch.randperm(n_pix, generator=gen)[: config.pixels_per_step].to(device)
                if subsample
                else None
            )
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
            yield TrainEvent(
                epoch=epoch,
                n_epochs=n_epochs,
                step=step,
                steps_per_epoch=batches.steps,
                total_steps=total + n_polish,
                loss=loss_value,
                terms=values,
                beta=beta,
                elapsed=time.perf_counter() - t_start,
            )
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
            yield TrainEvent(
                epoch=n_epochs - 1,
                n_epochs=n_epochs,
                step=batches.steps + polished,
                steps_per_epoch=batches.steps,
                total_steps=total + n_polish,
                loss=float(loss_value.detach()),
                terms={k: float(v) for k, v in terms.items()},
                beta=1.0,
                elapsed=time.perf_counter() - t_start,
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
