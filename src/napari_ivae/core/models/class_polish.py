"""After training: steps in which only the decoder's class images learn (ss-rVAE)."""

from __future__ import annotations

import math

import torch

from napari_ivae.core.models.batches import _Batches, pixel_subset
from napari_ivae.core.models.config import TrainConfig


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
            pix = pixel_subset(model.n_pixels, config.pixels_per_step, gen, device)
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
