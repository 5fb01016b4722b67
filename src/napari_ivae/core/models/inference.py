"""Using a trained model: encode, decode, latent manifolds, class traversals, classification.

Everything runs in eval mode under ``torch.no_grad()``, batch by batch (never more than one
batch of decoder activations in memory), and never touches optimiser state. The model's
train/eval mode is restored afterwards.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from napari_ivae.core.devices import resolve_device
from napari_ivae.core.errors import InputError
from napari_ivae.core.validation import as_patch_array

# decoder pixels evaluated per forward pass in decode: the spatial decoder runs its MLP on
# every pixel of every patch, so a batch of 64 patches of 38 x 38 px (the demo's latent
# manifold) held ~180 MB of activations at once; 16 384 pixels keep it to ~40 MB
DECODE_PIXELS = 1 << 14


@dataclass
class Encoding:
    """Posterior summaries of a set of patches.

    Attributes
    ----------
    z_mean, z_std : (N, latent_dim) arrays
        Conventional latents (mean and standard deviation of q(z|x)).
    angle : (N,) array or None
        Encoded rotation (radians), models with rotation invariance only.
    offsets : (N, 2) array or None
        Encoded (dx, dy) in half-width units (shift-VAE: already multiplied by k).
    class_prob : (N, K) array or None
        ss-rVAE classifier probabilities.
    """

    z_mean: np.ndarray
    z_std: np.ndarray
    angle: np.ndarray | None = None
    offsets: np.ndarray | None = None
    class_prob: np.ndarray | None = None

    def as_dict(self) -> dict:
        """The present arrays by name."""
        names = ("z_mean", "z_std", "angle", "offsets", "class_prob")
        return {k: getattr(self, k) for k in names if getattr(self, k) is not None}


def _model_device(model):
    return next(model.parameters()).device


@contextmanager
def _evaluating(model, device):
    was_training, original = model.training, _model_device(model)
    target = resolve_device(device) if device is not None else original
    model.eval()
    model.to(target)
    try:
        with torch.no_grad():
            yield target
    finally:
        model.to(original)
        model.train(was_training)


def _batches(array: np.ndarray, batch_size: int, device):
    for start in range(0, len(array), batch_size):
        yield torch.from_numpy(array[start : start + batch_size]).to(device)


def encode(model, patches, batch_size: int = 256, device=None) -> Encoding:
    """Encode patches into the model's latent space.

    Parameters
    ----------
    model : BaseIVAE
    patches : (N, H, W) array
        Raw patches of the model's ``patch_shape`` (normalised with the stored buffers).
    batch_size : int
        Patches per forward pass.
    device : str, optional
        Where to compute; default the model's current device.

    Returns
    -------
    Encoding
    """
    data = as_patch_array(patches, model.config.patch_shape)
    means, stds, probs = [], [], []
    with _evaluating(model, device) as dev:
        for x in _batches(data, max(int(batch_size), 1), dev):
            xn = model.normalize(x)
            mean, std = model.encode_gaussian(xn)
            means.append(mean.cpu())
            stds.append(std.cpu())
            if hasattr(model, "classifier_logits"):
                probs.append(torch.softmax(model.classifier_logits(xn, mean), -1).cpu())
    mean, std = torch.cat(means), torch.cat(stds)
    parts, std_parts = model.geometry(mean), model.layout.split(std)
    return Encoding(
        z_mean=parts["z"].numpy().astype(np.float32),
        z_std=std_parts["z"].numpy().astype(np.float32),
        angle=parts["theta"].numpy().astype(np.float32) if "theta" in parts else None,
        offsets=parts["offsets"].numpy().astype(np.float32) if "offsets" in parts else None,
        class_prob=torch.cat(probs).numpy().astype(np.float32) if probs else None,
    )


def classify(model, patches, batch_size: int = 256, device=None) -> np.ndarray:
    """Class probabilities ``(N, K)`` from the ss-rVAE classifier alone (no decoder)."""
    if not hasattr(model, "classifier_logits"):
        raise InputError(f"a {model.config.kind!r} model has no classifier; train an ss-rvae")
    data = as_patch_array(patches, model.config.patch_shape)
    out = []
    with _evaluating(model, device) as dev:
        for x in _batches(data, max(int(batch_size), 1), dev):
            out.append(torch.softmax(model.classifier_logits(model.normalize(x)), -1).cpu())
    return torch.cat(out).numpy().astype(np.float32)


def _column(values, n, width, name):
    if values is None:
        return torch.zeros(n, width)
    arr = torch.as_tensor(np.asarray(values, dtype=np.float32)).reshape(n, -1)
    if arr.shape[1] != width:
        raise InputError(f"{name} must have {width} value(s) per sample, got {arr.shape[1]}")
    return arr


def _class_code(model, y, n, conditions=None):
    if hasattr(model, "condition_code"):  # crvae: class and/or continuous values
        if y is not None and not model.n_classes:
            raise InputError("this crvae is conditioned on values only, not on a class")
        y = None if y is None else np.broadcast_to(np.asarray(y), (n,))
        return model.condition_code(y, conditions, n).cpu()
    if conditions is not None:
        raise InputError(f"a {model.config.kind!r} model takes no condition values")
    k = getattr(model, "n_classes", 0)
    if not k:
        if y is not None:
            raise InputError(f"a {model.config.kind!r} model is not conditioned on a class")
        return None
    y = np.zeros(n, dtype=np.int64) if y is None else np.broadcast_to(np.asarray(y), (n,))
    if ((y < 0) | (y >= k)).any():
        raise InputError(f"class indices must be in 0..{k - 1}")
    return torch.eye(k)[torch.as_tensor(y.astype(np.int64))].unsqueeze(1)


def decode(
    model, z, angle=None, offsets=None, y=None, batch_size: int = 256, conditions=None
) -> np.ndarray:
    """Render patches from latents, in the input intensity units.

    Parameters
    ----------
    z : (N, latent_dim) array
    angle : (N,) array, optional
        Radians (rotation models); default 0.
    offsets : (N, 2) array, optional
        (dx, dy) in half-width units, as returned by :func:`encode`; default 0.
    y : int or (N,) int array, optional
        Class (ss-rVAE, crVAE); default 0.
    conditions : (N, V) array, optional
        crVAE: continuous condition values in the data's units; default the training mean.

    Returns
    -------
    (N, H, W) float32 array
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    n, layout = z.shape[0], model.layout
    if z.shape[1] != layout.latent_dim:
        raise InputError(f"z must have {layout.latent_dim} columns, got {z.shape[1]}")
    cols = []
    if layout.rotation:
        cols.append(_column(angle, n, 1, "angle"))
    if layout.translation:
        cols.append(_column(offsets, n, 2, "offsets") / model.offset_gain)
    if layout.scale:
        cols.append(torch.zeros(n, 1))
    latent = torch.cat(cols + [torch.from_numpy(z)], dim=1)
    code = _class_code(model, y, n, conditions)
    out = []
    step = max(1, min(int(batch_size), DECODE_PIXELS // max(int(model.n_pixels), 1)))
    with _evaluating(model, None) as dev:
        for start in range(0, n, step):
            sl = slice(start, start + step)
            extra = code[sl].to(dev) if code is not None else None
            logits = model.render_logits(latent[sl].to(dev), extra)
            if extra is not None:
                logits = logits[:, 0]
            out.append(model.denormalize(model.mean_image(logits)).cpu())
    return torch.cat(out).reshape(n, *model.config.patch_shape).numpy().astype(np.float32)


def _tile(images: np.ndarray, rows: int, cols: int) -> np.ndarray:
    h, w = images.shape[1:]
    return images.reshape(rows, cols, h, w).transpose(0, 2, 1, 3).reshape(rows * h, cols * w)


def latent_ranges(z: np.ndarray, quantiles: tuple[float, float] = (2.0, 98.0)) -> np.ndarray:
    """Where the data's codes lie: per latent, the ``quantiles`` (percent) of ``z``.

    Manifolds and traversals drawn over this range show what the model does where the data
    are, not over a fixed prior range the codes may not visit.

    Parameters
    ----------
    z : (N, latent_dim) array
        Codes of the data, e.g. ``encode(model, patches).z_mean``.
    quantiles : (float, float)
        Low and high percentiles.

    Returns
    -------
    (latent_dim, 2) float32 array of (low, high); a latent with no spread gets +/- 0.5 around
    its value.
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    if z.shape[0] == 0:
        raise InputError("latent_ranges needs at least one code")
    low, high = np.percentile(z, quantiles, axis=0)
    flat = ~(high > low)
    low[flat] -= 0.5
    high[flat] += 0.5
    return np.stack([low, high], axis=1).astype(np.float32)


def _grid_codes(model, ranges, extent: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-latent (low, high) and the centre each latent takes when not traversed."""
    d = model.layout.latent_dim
    if ranges is None:
        bounds = np.tile(np.array([-extent, extent], dtype=np.float32), (d, 1))
        return bounds, np.zeros(d, dtype=np.float32)
    bounds = np.asarray(ranges, dtype=np.float32).reshape(-1, 2)
    if bounds.shape[0] != d:
        raise InputError(
            f"ranges must give (low, high) for each of the {d} latents, got {bounds.shape[0]}"
        )
    return bounds, bounds.mean(axis=1)


def latent_manifold(model, n: int = 8, extent: float = 2.0, y=None, ranges=None) -> np.ndarray:
    """Decoded ``n x n`` grid over the first two latents (the others at their centre).

    Over ``[-extent, extent]`` (the prior) or, with ``ranges`` (see :func:`latent_ranges`),
    over where the data's codes lie. Rows go from high (top) to low along z2, columns from low
    to high along z1. Returns ``(n*H, n*W)``.
    """
    bounds, centre = _grid_codes(model, ranges, extent)
    d = model.layout.latent_dim
    z = np.tile(centre, (n * n, 1)).astype(np.float32)
    (lo1, hi1), (lo2, hi2) = bounds[0], bounds[min(1, d - 1)]
    z1, z2 = np.meshgrid(
        np.linspace(lo1, hi1, n, dtype=np.float32), np.linspace(lo2, hi2, n, dtype=np.float32)[::-1]
    )
    z[:, 0] = z1.ravel()
    if d > 1:
        z[:, 1] = z2.ravel()
    return _tile(decode(model, z, y=y), n, n)


def class_latent_ranges(
    z: np.ndarray, classes, n_classes: int, quantiles: tuple[float, float] = (2.0, 98.0)
) -> np.ndarray:
    """Per class, where its patches' codes lie: ``(K, latent_dim, 2)`` (see
    :func:`latent_ranges`); a class with fewer than 2 patches gets the ranges of all codes.

    ``classes`` is each patch's class (e.g. the ss-rVAE's most probable one).
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    classes = np.asarray(classes).ravel()
    every = latent_ranges(z, quantiles)
    return np.stack(
        [
            latent_ranges(z[classes == k], quantiles) if (classes == k).sum() >= 2 else every
            for k in range(int(n_classes))
        ]
    )


def class_traversal(model, n: int = 8, extent: float = 2.0, ranges=None) -> np.ndarray:
    """One row per class (ss-rVAE, crVAE), z1 traversed over ``[-extent, extent]`` or over
    ``ranges[0]``, the other latents at their centre; ``(K*H, n*W)``.

    ``ranges`` is ``(latent_dim, 2)`` for all rows (:func:`latent_ranges`) or
    ``(K, latent_dim, 2)``, one per class (:func:`class_latent_ranges`): each row then spans
    the codes of that class's own patches. Each image is drawn centred in its tile
    (:func:`_decode_centred`).
    """
    k = getattr(model, "n_classes", 0)
    if not k:
        raise InputError("class traversals need a model with classes (ss-rvae, crvae)")
    per_class = ranges is not None and np.ndim(ranges) == 3
    z = np.zeros((k * n, model.layout.latent_dim), dtype=np.float32)
    for row in range(k):
        bounds, centre = _grid_codes(model, ranges[row] if per_class else ranges, extent)
        z[row * n : (row + 1) * n] = centre
        z[row * n : (row + 1) * n, 0] = np.linspace(bounds[0][0], bounds[0][1], n, dtype=np.float32)
    return _tile(_decode_centred(model, z, y=np.repeat(np.arange(k), n)), k, n)


def _decode_centred(model, z, y=None) -> np.ndarray:
    """:func:`decode` at angle 0, each image at the offsets that put its centre of mass
    (of the absolute difference from its median, so bright or dark symbols alike) at the
    patch centre; models without translation invariance decode at offsets 0.

    Where the decoder draws a shape at offsets 0 is arbitrary: the encoder's offsets absorb
    any shift of it (on the cards, 3 to 9 px off centre, the data's codes 0.2-0.3 half-widths
    from 0). Views of the classes and latents show the shape itself, centred.
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float32))
    first = decode(model, z, y=y)
    if not model.layout.translation:
        return first
    h, w = model.config.patch_shape
    mass = np.abs(first - np.median(first, axis=(1, 2), keepdims=True))
    total = mass.sum((1, 2))
    rows, cols = np.mgrid[:h, :w]
    safe = np.where(total > 0, total, 1.0)
    dy = np.where(total > 0, (mass * rows).sum((1, 2)) / safe - (h - 1) / 2, 0.0)
    dx = np.where(total > 0, (mass * cols).sum((1, 2)) / safe - (w - 1) / 2, 0.0)
    # offsets (dx, dy) in half-width units move the drawn shape by as many half-widths
    offsets = -np.stack([dx / ((w - 1) / 2), dy / ((h - 1) / 2)], axis=1).astype(np.float32)
    return decode(model, z, offsets=offsets, y=y)
