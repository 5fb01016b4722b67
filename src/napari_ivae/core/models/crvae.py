"""crVAE: conditional rVAE, the class (and/or a continuous condition) of every patch is known.

Generative model p(x | z, theta, offsets, c) with the spatial decoder conditioned on
``c = [one-hot class, standardised condition values]``; inference q(z, theta, offsets | x)
does not see c, so z holds what the condition does not explain: one latent space per class
(review paper, conditional rVAE). The condition enters every hidden layer of the decoder
(``class_film``, default on for this kind) and z's KL weight starts high
(``TrainConfig.z_kl_start``), so the decoder learns to draw the class from c before z could
carry it, and each class has a decoder image of its own (``class_template``, started at
the class's mean patch) read at the pose-transformed coordinates (docs/performance.md, "A
decoder that carries the class"). The offsets' prior is narrower than the other kinds'
(``ModelConfig.translation_prior`` 0.05 of the patch width), which keeps the drawn shape on
those centred class images (docs/performance.md, "crVAE over seeds (issue 10, round 3)").
"""

from __future__ import annotations

import numpy as np
import torch

from napari_ivae.core.errors import InputError
from napari_ivae.core.models.base import BaseIVAE, between_class_variance


class CRVAE(BaseIVAE):
    """Conditional (rotation-invariant) VAE.

    Parameters
    ----------
    config : ModelConfig
        ``kind="crvae"`` with ``n_classes >= 2`` (known class per patch) and/or
        ``condition_names`` (continuous values per patch, standardised with the training
        set's mean and spread, stored as buffers).
    """

    cond_mean: torch.Tensor
    cond_scale: torch.Tensor

    def __init__(self, config):
        super().__init__(config)
        self.n_classes = int(config.n_classes)
        self.n_values = len(config.condition_names)
        self.register_buffer("cond_mean", torch.zeros(self.n_values))
        self.register_buffer("cond_scale", torch.ones(self.n_values))
        # weight of the between-class share of z's variance (TrainConfig.z_class_share; set
        # by train(), not saved)
        self.z_class_share = 0.0

    def code_extra_dim(self) -> int:
        return int(self.config.n_classes) + len(self.config.condition_names)

    def fit_conditions(self, values) -> None:
        """Record the mean and spread of the training patches' continuous condition values."""
        if not self.n_values:
            return
        v = torch.as_tensor(np.asarray(values, dtype=np.float32)).reshape(-1, self.n_values)
        self.cond_mean.copy_(v.mean(0))
        spread = v.std(0) if len(v) > 1 else torch.ones(self.n_values)
        self.cond_scale.copy_(torch.where(spread > 0, spread, torch.ones_like(spread)))

    def fit_class_templates(self, patches: np.ndarray, labels) -> None:
        """Start each class's decoder image (``class_template``) at the mean of that class's
        patches (logits for Bernoulli, clipped to 0.02-0.98); continuous conditions' images
        and classes without patches start at 0."""
        template = getattr(self.decoder, "class_template", None)
        if template is None or labels is None or np.ndim(patches) != 3:
            return
        labels = np.asarray(labels).ravel()
        with torch.no_grad():
            template.zero_()
            for k in range(self.n_classes):
                rows = np.flatnonzero(labels == k)[:4096]
                if not len(rows):
                    continue
                sample = torch.as_tensor(np.asarray(patches[rows], dtype=np.float32))
                mean = self.normalize(sample.to(template.device)).mean(0)
                if self.bernoulli:
                    mean = torch.logit(mean.clamp(0.02, 0.98))
                template[0, k] = mean.to(template.dtype)

    def condition_code(self, labels=None, values=None, n: int | None = None) -> torch.Tensor:
        """Decoder condition ``(n, 1, K + V)``: one-hot class and standardised values.

        ``labels`` (n,) ints in ``0..K-1`` (default 0), ``values`` (n, V) in the data's units
        (default: the training mean).
        """
        if n is None:
            n = len(labels) if labels is not None else len(values)
        parts = []
        device = self.cond_mean.device
        if self.n_classes:
            if labels is None:
                y = torch.zeros(n, dtype=torch.long)
            elif isinstance(labels, torch.Tensor):  # training: a batch already on the device
                y = labels.long().reshape(n)
            else:
                y = torch.as_tensor(np.array(labels, dtype=np.int64)).reshape(n)
            if ((y < 0) | (y >= self.n_classes)).any():
                raise InputError(
                    f"crvae classes must be in 0..{self.n_classes - 1} for every "
                    "patch (a conditional model needs each patch's class)"
                )
            parts.append(torch.eye(self.n_classes, device=device)[y.to(device)])
        if self.n_values:
            if values is None:
                parts.append(torch.zeros(n, self.n_values, device=device))
            else:
                v = torch.as_tensor(
                    np.asarray(values, dtype=np.float32)
                    if not isinstance(values, torch.Tensor)
                    else values,
                    dtype=torch.float32,
                    device=device,
                ).reshape(n, self.n_values)
                parts.append((v - self.cond_mean) / self.cond_scale)
        return torch.cat(parts, -1).unsqueeze(1)

    def loss(
        self,
        x,
        labels=None,
        *,
        beta=1.0,
        generator=None,
        pixel_index=None,
        label_weight=30.0,
        labeled_fraction=None,
        conditions=None,
    ):
        """Negative ELBO per patch given each patch's class ``labels`` and ``conditions``."""
        xn = self.normalize(x)
        mean, std = self.encode_gaussian(xn)
        latent = self.reparameterize(mean, std, generator)
        code = self.condition_code(labels if self.n_classes else None, conditions, len(x))
        logits = self.render_logits(latent, code.to(x.dtype), pixel_index)[:, 0]
        recon = -self.log_likelihood(logits, self.pixel_targets(xn, pixel_index))
        recon = recon * self.pixel_weight(pixel_index)
        kl = self.kl(mean, std, latent)
        loss = (recon + beta * kl).mean()
        terms = {"recon": recon.mean().detach(), "kl": kl.mean().detach()}
        if self.z_class_share > 0 and self.n_classes and labels is not None:
            share = self.z_between_share(mean, labels)
            loss = loss + self.z_class_share * share
            terms["z_class_share"] = share.detach()
        return loss, terms

    def z_between_share(self, mean: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Share of the variance of the batch's z means ``mean[:, z]`` that lies between the
        known classes ``labels`` (between-class over total variance, summed over z's
        dimensions; 0 when every class's codes have the same mean, 1 when z is the class)."""
        z = mean[:, self.layout.slices()["z"]]
        weights = torch.eye(self.n_classes, device=z.device, dtype=z.dtype)[labels.long()]
        return between_class_variance(z, weights) / (z.var(0, unbiased=False).sum() + 1e-4)


def check_conditions(model, labels, values, n: int):
    """Validated ``(labels, values)`` for training a crvae on ``n`` patches.

    Returns int64 labels ``(n,)`` (all 0 when the model has no class) and float32 values
    ``(n, V)`` or None. Raises :class:`InputError` for a missing or unlabeled class, or values
    of the wrong shape or not finite.
    """
    k, v = int(model.config.n_classes), len(model.config.condition_names)
    if k:
        if labels is None:
            raise InputError("a crvae needs the class of every patch (labels 0..K-1)")
        arr = np.asarray(labels)
        if arr.ndim != 1 or len(arr) != n:
            raise InputError(f"labels must be one class per patch ({n}), got shape {arr.shape}")
        if arr.dtype.kind == "f" and not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise InputError("crvae labels must be whole numbers 0..K-1")
        if arr.dtype.kind not in "biuf":
            raise InputError(f"crvae labels must be integers, got {arr.dtype} values")
        lab = arr.astype(np.int64)
        if ((lab < 0) | (lab >= k)).any():
            bad = int(((lab < 0) | (lab >= k)).sum())
            raise InputError(
                f"{bad} patch(es) have no class in 0..{k - 1}; a conditional model "
                "needs the class of every patch (use ss-rvae for partly labeled)"
            )
    else:
        lab = np.zeros(n, dtype=np.int64)
    cond = None
    if v:
        if values is None:
            raise InputError(
                f"this crvae needs the condition values {list(model.config.condition_names)} "
                "of every patch"
            )
        cond = (
            np.asarray(values, dtype=np.float32).reshape(n, -1)
            if np.size(values) == n * v
            else None
        )
        if cond is None or cond.shape[1] != v:
            raise InputError(
                f"conditions must be {v} value(s) per patch for {n} patches, "
                f"got shape {np.shape(values)}"
            )
        if not np.isfinite(cond).all():
            raise InputError("condition values must be finite numbers (no NaN or inf)")
    return lab, cond
