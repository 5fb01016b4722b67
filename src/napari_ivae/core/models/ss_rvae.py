"""ss-rVAE: semi-supervised rVAE with a discrete class y (papers 000/001).

Generative model p(x | z, theta, offsets, y) with the spatial decoder conditioned on the
one-hot class; inference q(z, theta, offsets | x) and a classifier q(y | x). Labeled patches
add ``label_weight`` x cross-entropy of the classifier; on unlabeled patches y is summed out
exactly by enumerating the K classes::

    ELBO_u(x) = sum_y q(y|x) log p(x | latents, y) - KL(q(z..|x) || p) - KL(q(y|x) || U(K))

The K decodings share each sample's coordinate embedding (only the class embedding differs).
With ``invariances=()`` this is the non-invariant ss-VAE control of the papers.
"""

from __future__ import annotations

import math

import pyro.distributions as dist
import torch
import torch.nn.functional as F

from napari_ivae.core.models.base import BaseIVAE
from napari_ivae.core.models.latent import canonical_resample
from napari_ivae.core.models.nets import Classifier


class SSRVAE(BaseIVAE):
    """Semi-supervised (rotation-invariant) VAE with a stand-alone classifier.

    Parameters
    ----------
    config : ModelConfig
        ``kind="ss-rvae"``, ``n_classes >= 2``. With ``canonical_classifier`` (default) and a
        geometric invariance, the classifier reads the patch resampled into the decoder's
        canonical frame using the encoder's (detached) angle and offsets.
    """

    def __init__(self, config):
        super().__init__(config)
        self.n_classes = int(config.n_classes)
        self.classifier = Classifier(self.n_pixels, self.n_classes, config.hidden,
                                     config.activation)

    def code_extra_dim(self) -> int:
        return int(self.config.n_classes)

    @property
    def uses_canonical_input(self) -> bool:
        """True when the classifier reads geometry-normalised patches."""
        return bool(self.config.canonical_classifier and self.layout.spatial)

    def classifier_input(self, xn: torch.Tensor, mean: torch.Tensor | None = None):
        """What the classifier reads: normalised patches ``(B, H, W)``, resampled into the
        canonical frame when :attr:`uses_canonical_input`; ``mean`` = encoder mean if known."""
        if self.uses_canonical_input:
            if mean is None:
                mean, _ = self.encode_gaussian(xn)
            parts = self.geometry(mean.detach())
            xn = canonical_resample(xn, parts.get("theta"), parts.get("offsets"),
                                    parts.get("scale"))
        return xn

    def classifier_logits(self, xn: torch.Tensor, mean: torch.Tensor | None = None):
        """Class logits of normalised patches ``(B, H, W)``; ``mean`` = encoder mean if known."""
        return self.classifier(self.classifier_input(xn, mean))

    def loss(self, x, labels=None, *, beta=1.0, generator=None, pixel_index=None,
             label_weight=30.0, labeled_fraction=None):
        """Semi-supervised negative ELBO per patch (labels ``-1`` = unlabeled).

        ``labeled_fraction`` is the labeled share of the whole training set, so that batches
        that over-sample labeled patches still estimate the per-patch objective without bias.
        """
        if labels is None:
            labels = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
        xn = self.normalize(x)
        mean, std = self.encode_gaussian(xn)
        latent = self.reparameterize(mean, std, generator)
        kl_z = self.kl(mean, std, latent)
        class_logits = self.classifier_logits(xn, mean)
        targets = self.pixel_targets(xn, pixel_index)
        w_pix = self.pixel_weight(pixel_index)
        eye = torch.eye(self.n_classes, device=x.device, dtype=x.dtype)
        log_k = math.log(self.n_classes)
        lab = labels >= 0
        terms, parts = {}, []
        batch_lab = float(lab.float().mean())
        frac = batch_lab if labeled_fraction is None else float(labeled_fraction)
        if lab.any():
            y = labels[lab]
            ll = self.log_likelihood(
                self.render_logits(latent[lab], eye[y].unsqueeze(1), pixel_index)[:, 0],
                targets[lab]) * w_pix
            neg_elbo = -ll + beta * (kl_z[lab] + log_k)
            ce = F.cross_entropy(class_logits[lab], y, reduction="none")
            parts.append(frac * (neg_elbo + label_weight * ce).mean())
            terms["ce"] = ce.mean().detach()
            terms["recon_labeled"] = (-ll).mean().detach()
        unl = ~lab
        if unl.any():
            n_u = int(unl.sum())
            code = eye.unsqueeze(0).expand(n_u, -1, -1)
            ll = self.log_likelihood(self.render_logits(latent[unl], code, pixel_index),
                                     targets[unl].unsqueeze(1)) * w_pix  # (n_u, K)
            q = dist.OneHotCategorical(logits=class_logits[unl])
            kl_y = log_k - q.entropy()
            neg_elbo = -(q.probs * ll).sum(-1) + beta * (kl_z[unl] + kl_y)
            parts.append((1.0 - frac) * neg_elbo.mean())
            terms["recon"] = -(q.probs * ll).sum(-1).mean().detach()
            terms["kl_y"] = kl_y.mean().detach()
        terms["kl"] = kl_z.mean().detach()
        return sum(parts), terms
