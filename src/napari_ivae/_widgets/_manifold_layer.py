"""The decoded latent manifold (or a class traversal) of a model, as a layer beside the image."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae import _layers


def write_manifold(
    viewer: Any, image_layer: Any, bundle: Any, encoding: Any = None, patches: Any = None
) -> Any:
    """The decoded latent manifold (or ss-rVAE class traversal), placed right of the image."""
    return show_manifold(viewer, image_layer, bundle, compute_manifold(bundle, encoding, patches))


def compute_manifold(
    bundle: Any, encoding: Any = None, patches: Any = None
) -> tuple[np.ndarray, str, str, tuple | None]:
    """Decode the latent manifold (or ss-rVAE class traversal) image (any thread).

    With the data's ``encoding`` the grid spans where their codes lie (2nd-98th percentile of
    each latent) instead of the prior's [-2, 2]; with the ``patches`` it is shown at their
    contrast (1st-99th percentile), so it can be compared with the data. Returns the image and
    a caption.
    """
    from napari_ivae.core.models.inference import (
        class_latent_ranges,
        class_traversal,
        latent_manifold,
        latent_ranges,
    )

    ranges = None
    if (
        encoding is not None
        and len(encoding.z_mean)
        and encoding.z_mean.shape[1] == bundle.config.latent_dim
    ):
        ranges = latent_ranges(encoding.z_mean)
    if bundle.config.kind in ("ss-rvae", "jrvae") or (
        bundle.config.kind == "crvae" and bundle.config.n_classes
    ):
        rows = ranges
        probs = getattr(encoding, "class_prob", None)
        if ranges is not None and probs is not None and len(probs) == len(encoding.z_mean):
            # each row over the codes of the patches classified into it: where that class
            # lies in z (with z holding part of the class, other classes' codes draw them)
            rows = class_latent_ranges(
                encoding.z_mean, np.argmax(probs, 1), bundle.config.n_classes
            )
        image, what = class_traversal(bundle.model, n=8, ranges=rows), "class traversal"
        caption = "one row per class, z1 left to right"
        if rows is not ranges:
            caption += " over the codes of the patches classified into that row's class"
    else:
        image, what = latent_manifold(bundle.model, n=8, ranges=ranges), "latent manifold"
        caption = "z1 left to right, z2 bottom to top"
    if "classified" in caption:
        pass  # each row has its own span
    elif ranges is not None:
        spans = [f"z{i + 1} {lo:.2f} to {hi:.2f}" for i, (lo, hi) in enumerate(ranges[:2])]
        caption += " over the data's codes (" + ", ".join(spans) + ")"
    else:
        caption += " over the prior's [-2, 2]"
    limits = None
    if patches is not None and np.size(patches):
        low, high = np.percentile(np.asarray(patches), [1, 99])
        limits = (float(low), float(high)) if high > low else None
    return image, what, caption, limits


def manifold_caption(layer: Any) -> str:
    """The status line for a manifold layer: its name and what its axes mean."""
    caption = layer.metadata.get(_layers.META_KEY, {}).get("caption", "")
    return f"{layer.name}: {caption}." if caption else layer.name


def show_manifold(viewer: Any, image_layer: Any, bundle: Any, decoded: tuple) -> Any:
    """Write a :func:`compute_manifold` image as a layer placed right of the image."""
    data, what = decoded[:2]
    caption = decoded[2] if len(decoded) > 2 else ""
    limits = decoded[3] if len(decoded) > 3 else None
    transform = _layers.spatial_transform(image_layer, 2)
    scale = transform.get("scale", (1.0, 1.0))
    shape = _layers.image_data(image_layer).shape
    columns = shape[-2] if getattr(image_layer, "rgb", False) else shape[-1]  # not its colours
    width = columns * scale[-1]
    offset = transform.get("translate", (0.0, 0.0))
    layer = _layers.write_layer(
        viewer,
        "image",
        data.astype(np.float32),
        role="manifold",
        source=image_layer.name,
        what=what,
        params={"model": bundle.config.kind, "caption": caption},
        colormap="gray",
    )
    if limits is not None:  # the data's contrast, not the decoding's own stretch
        layer.contrast_limits = limits
    layer.scale = scale
    if "units" in transform:  # a calibrated image (nm): the same units, or napari drops them all
        layer.units = transform["units"]
    layer.translate = (offset[0], offset[1] + width * 1.05)
    return layer
