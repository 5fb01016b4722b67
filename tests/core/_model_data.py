"""Tiny generated data sets for the model tests (no files, explicit seeds)."""

import numpy as np


def rotated_shapes(n=400, size=20, max_angle=np.pi / 2, seed=0):
    """An asymmetric two-blob shape rotated by known angles; returns (patches, angles)."""
    rng = np.random.default_rng(seed)
    angles = rng.uniform(-max_angle, max_angle, n)
    c = np.linspace(-1, 1, size)
    yy, xx = np.meshgrid(c, c, indexing="ij")
    out = np.empty((n, size, size), np.float32)
    for i, a in enumerate(angles):
        # template evaluated at R(a) c: the shape rotated by a, counter-clockwise as displayed
        u = np.cos(a) * xx - np.sin(a) * yy
        v = np.sin(a) * xx + np.cos(a) * yy
        img = (
            np.exp(-((u - 0.45) ** 2 + v**2) / 0.03)
            + 0.8 * np.exp(-((u + 0.2) ** 2 + (v - 0.35) ** 2) / 0.02)
            + 0.5 * np.exp(-(u**2 + v**2) / 0.05)
        )
        out[i] = img
    return out / out.max(), angles


def circular_correlation(a, b):
    """Fisher-Lee/Jammalamadaka circular correlation coefficient of two angle arrays."""
    a0 = np.angle(np.exp(1j * a).mean())
    b0 = np.angle(np.exp(1j * b).mean())
    sa, sb = np.sin(a - a0), np.sin(b - b0)
    return float((sa * sb).sum() / np.sqrt((sa**2).sum() * (sb**2).sum()))


def two_class_blobs(n_per_class=150, size=16, seed=0):
    """Two classes (one blob vs two blobs) at random shifts; returns (patches, labels)."""
    rng = np.random.default_rng(seed)
    c = np.linspace(-1, 1, size)
    yy, xx = np.meshgrid(c, c, indexing="ij")
    xs, ys = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            dx, dy = rng.uniform(-0.15, 0.15, 2)
            img = np.exp(-((xx - dx) ** 2 + (yy - dy) ** 2) / 0.08)
            if label:
                img = np.exp(-((xx - dx - 0.4) ** 2 + (yy - dy) ** 2) / 0.03) + np.exp(
                    -((xx - dx + 0.4) ** 2 + (yy - dy) ** 2) / 0.03
                )
            xs.append(img + 0.05 * rng.standard_normal(img.shape))
            ys.append(label)
    return np.asarray(xs, np.float32), np.asarray(ys, np.int64)


def adam_losses(model, x, steps, lr=3e-3, seed=0):
    """Losses of ``steps`` Adam steps on one fixed batch ``x`` (a torch tensor)."""
    import torch

    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        loss, _ = model.loss(x, generator=gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    return losses
