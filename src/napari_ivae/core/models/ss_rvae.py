"""ss-rVAE: semi-supervised rVAE with a discrete class y (papers 000/001).

Generative model p(x | z, theta, offsets, y) with the spatial decoder conditioned on the
one-hot class; inference q(z, theta, offsets | x) and a classifier q(y | x). Labeled patches
add ``label_weight`` x cross-entropy of the classifier; on unlabeled patches y is summed out
exactly by enumerating the K classes::

    ELBO_u(x) = sum_y q(y|x) log p(x | latents, y) - KL(q(z..|x) || p) - KL(q(y|x) || U(K))

The K decodings share each sample's coordinate embedding (only the class embedding differs).
With ``invariances=()`` this is the non-invariant ss-VAE control of the papers.

When the unlabeled patches are noisier than the labeled ones (a few clean examples drawn or
picked, a noisy image to classify), training adds Gaussian noise to every labeled patch of a
batch, at the level that makes the two sets' measured pixel noise equal
(:func:`matching_noise`, set by ``train()`` through :meth:`SSRVAE.fit_label_noise`).

With a rotation latent, training can also ask the encoder's angle to turn with the patch
(``TrainConfig.pose_consistency``, :meth:`SSRVAE.pose_disagreement`): each patch is encoded a
second time turned by a random angle, and the two encoded angles must differ by that angle.
The classifier reads the patch turned back by the encoder's angle, so a card whose angle is
mis-encoded is misclassified; without the term the encoder turned many cards beyond about
40 deg the wrong way on some seeds.

With ``ModelConfig.pose_templates`` the pose comes from a matched filter: before the first
step each class's labeled patches are aligned among themselves into one template
(:func:`pose_search.align_class`, any poses), saved with the model; each patch is centred on
its centroid and the best-matching template turned over the full circle
(:meth:`~napari_ivae.core.models.templated_pose.TemplatedPose.template_pose`, no gradient).
By default (``"replace"``) that angle and the centroid *are* the angle and offset means: the
classifier's input, the decoder and the KL read them, the encoder learns z and the pose's
spread, and the pose-consistency term is not used. With ``True`` the angle is added to the
encoder's, which learns a correction; that correction is common to all patches and wanders
during training, which cost the noisy cards most of their accuracy (docs/performance.md,
"ss-rVAE under strong noise").
"""

from __future__ import annotations

import math

import numpy as np
import pyro.distributions as dist
import torch
import torch.nn.functional as F

from napari_ivae.core.models import pose, pose_search
from napari_ivae.core.models.base import between_class_variance
from napari_ivae.core.models.latent import canonical_resample
from napari_ivae.core.models.nets import Classifier
from napari_ivae.core.models.templated_pose import TemplatedPose

#: patches used to measure the noise levels and to calibrate the labeled patches' noise
NOISE_SAMPLE = 1024
#: labeled patches per class (evenly spaced) a pose template is aligned from
POSE_TEMPLATE_PATCHES = 256


def noise_level(patches) -> float:
    """Robust pixel noise of ``(N, H, W)`` patches: the median absolute deviation of the
    differences between neighbouring pixels (rows and columns), scaled to a Gaussian's
    standard deviation and divided by sqrt(2). Flat regions dominate the median, so edges of
    the pattern barely count: 0 for clean synthetic cards."""
    x = np.asarray(patches, dtype=np.float64)
    if x.ndim != 3 or x.shape[0] == 0:
        return 0.0
    d = np.concatenate([np.diff(x, axis=1).ravel(), np.diff(x, axis=2).ravel()])
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / math.sqrt(2.0))


def matching_noise(clean, noisy, lo: float = 0.0, hi: float = 1.0, seed: int = 0) -> float:
    """Standard deviation of the Gaussian noise that, added to ``clean`` and clipped to
    ``[lo, hi]`` (the data's range), gives it the :func:`noise_level` of ``noisy``.

    Found by bisection on a fixed draw of noise, so clipping (which lowers the measured
    level) is accounted for. 0 when ``noisy`` is not noisier than ``clean`` (by more than 1 %
    of the range).
    """
    clean = np.asarray(clean, dtype=np.float64)[:NOISE_SAMPLE]
    noisy = np.asarray(noisy, dtype=np.float64)[:NOISE_SAMPLE]
    span = hi - lo
    if len(clean) == 0 or len(noisy) == 0 or not span > 0:
        return 0.0
    target = noise_level(noisy)
    if target <= noise_level(clean) + 0.01 * span:
        return 0.0
    draw = np.random.default_rng(seed).standard_normal(clean.shape)

    def level(std):
        return noise_level(np.clip(clean + std * draw, lo, hi))

    low, high = 0.0, 4.0 * span
    if level(high) <= target:
        return high
    for _ in range(30):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if level(mid) < target else (low, mid)
    return 0.5 * (low + high)


class SSRVAE(TemplatedPose):
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
        self.classifier = Classifier(
            self.n_pixels, self.n_classes, config.hidden, config.activation
        )
        # std of the noise added to labeled patches in training (normalised units; not saved)
        self.label_noise = 0.0
        # weight of the between-class variance of z's means (TrainConfig.z_class_weight; set
        # by train(), not saved)
        self.z_class_weight = 0.0
        # weight of the angle's consistency under turns of the patch and the largest turn
        # (TrainConfig.pose_consistency; set by train() through fit_pose_consistency, not saved)
        self.pose_consistency = 0.0
        self.consistency_turn = math.pi / 3
        # each class's template aligned from its labeled patches (fit_class_templates) and
        # its rotational symmetry order (0 = no labeled patch: no template)
        self._register_pose_templates(config, self.n_classes)

    def fit_class_templates(self, patches, labels) -> None:
        """Before the first step (``train()``): with ``pose_templates``, each class's pose
        template from (up to :data:`POSE_TEMPLATE_PATCHES` of) its labeled patches
        (:func:`pose_search.align_class`). The decoder's class images stay at 0."""
        super().fit_class_templates(patches, labels)
        if not self.config.pose_templates:
            return
        labels = np.asarray(labels)
        chosen: list[torch.Tensor | None] = []
        with torch.no_grad():
            for k in range(self.n_classes):
                sel = np.flatnonzero(labels == k)
                if len(sel) == 0:
                    chosen.append(None)
                    continue
                take = np.linspace(0, len(sel) - 1, min(len(sel), POSE_TEMPLATE_PATCHES))
                sel = sel[np.round(take).astype(int)]
                x = torch.as_tensor(np.asarray(patches[sel], dtype=np.float32))
                chosen.append(self.normalize(x))
            pose_search.store_templates(self.pose_templates, self.pose_orders, chosen)

    def fit_label_noise(
        self, patches: np.ndarray, labels: np.ndarray, label_noise: float | None = None
    ) -> float:
        """Set the noise added to labeled patches during training (normalised units).

        ``label_noise`` in intensity units, or ``None``: measured from the data, the level at
        which the labeled patches match the unlabeled ones' pixel noise (:func:`matching_noise`
        on the normalised patches; 0 when the unlabeled patches are not noisier). Returns it.
        """
        if label_noise is not None:
            self.label_noise = float(label_noise) / float(self.norm_scale)
            return self.label_noise
        labels = np.asarray(labels)
        lab, unl = np.flatnonzero(labels >= 0), np.flatnonzero(labels < 0)
        if len(lab) == 0 or len(unl) == 0:
            self.label_noise = 0.0
            return 0.0
        offset, scale = float(self.norm_offset), float(self.norm_scale)

        def normalised(index):
            return (np.asarray(patches[index[:NOISE_SAMPLE]], dtype=np.float64) - offset) / scale

        self.label_noise = matching_noise(normalised(lab), normalised(unl))
        return self.label_noise

    def fit_pose_consistency(self, patches: np.ndarray, weight: float) -> float:
        """Set the weight of :meth:`pose_disagreement` and the largest turn it draws, from the
        patches' dominant angular symmetry order ``m`` (:func:`pose.dominant_order`; 1 for
        generic shapes): turns within ``pi / (3 m)``, well inside ``pi / (2 m)``, beyond which a
        class with twice the dominant symmetry (a diamond among cards, a dimer) could match its
        turned copy better at the other branch. Returns the largest turn (radians)."""
        self.pose_consistency = float(weight)
        if weight > 0 and "theta" in self.layout.slices() and np.ndim(patches) == 3:
            step = max(len(patches) // 2048, 1)
            sample = torch.as_tensor(np.asarray(patches[::step][:2048], dtype=np.float32))
            with torch.no_grad():
                xn = self.normalize(sample.to(self.norm_offset.device))
                order = pose.dominant_order(xn, pose.moment_basis(self.grid))
            self.consistency_turn = math.pi / (3 * order)
        return self.consistency_turn

    def pose_disagreement(self, xn: torch.Tensor, generator=None) -> torch.Tensor:
        """How far the encoder's angle is from turning with the patch, per patch (batch mean).

        Each normalised patch ``(B, H, W)`` is turned back by a random angle ``delta``
        (uniform within ``consistency_turn``; :func:`canonical_resample`, which the decoder's
        angle undoes, so the copy's angle should be ``theta - delta``) and encoded again. The
        term is ``(1 - cos(theta' - theta + delta)) / (sigma^2 + sigma'^2)`` with the two
        posteriors' mean angles and standard deviations (the latter held fixed): for small
        disagreements, half the squared disagreement over the posteriors' summed variance,
        i.e. the copy's angle scored (in nats, up to a constant) under the patch's own
        posterior turned by ``delta``.
        """
        mean, std = self.encode_gaussian(xn)
        gen = generator if isinstance(generator, torch.Generator) else None
        delta = (
            torch.rand(len(xn), generator=gen, device=xn.device, dtype=xn.dtype) * 2 - 1
        ) * self.consistency_turn
        turned_mean, turned_std = self.encode_gaussian(canonical_resample(xn, delta))
        t = self.layout.slices()["theta"]
        gap = (turned_mean[:, t] - mean[:, t] + delta[:, None]).squeeze(-1)
        var = (std[:, t].square() + turned_std[:, t].square()).squeeze(-1).detach()
        return ((1 - torch.cos(gap)) / var).mean()

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
            xn = canonical_resample(
                xn, parts.get("theta"), parts.get("offsets"), parts.get("scale")
            )
        return xn

    def classifier_logits(self, xn: torch.Tensor, mean: torch.Tensor | None = None):
        """Class logits of normalised patches ``(B, H, W)``; ``mean`` = encoder mean if known."""
        return self.classifier(self.classifier_input(xn, mean))

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
    ):
        """Semi-supervised negative ELBO per patch (labels ``-1`` = unlabeled).

        ``labeled_fraction`` is the labeled share of the whole training set, so that batches
        that over-sample labeled patches still estimate the per-patch objective without bias.
        """
        if labels is None:
            labels = torch.full((x.shape[0],), -1, dtype=torch.long, device=x.device)
        xn = clean = self.normalize(x)
        lab = labels >= 0
        if self.training and self.label_noise > 0 and lab.any():
            gen = generator if isinstance(generator, torch.Generator) else None
            noise = torch.randn(xn.shape, generator=gen, device=xn.device, dtype=xn.dtype)
            noisy = (xn + self.label_noise * noise).clamp(0.0, 1.0)
            xn = torch.where(lab[:, None, None], noisy, xn)
        mean, std = self.encode_gaussian(xn)
        latent = self.reparameterize(mean, std, generator)
        kl_z = self.kl(mean, std, latent)
        class_logits = self.classifier_logits(xn, mean)
        targets = self.pixel_targets(xn, pixel_index)
        w_pix = self.pixel_weight(pixel_index)
        eye = torch.eye(self.n_classes, device=x.device, dtype=x.dtype)
        log_k = math.log(self.n_classes)
        terms, parts = {}, []
        batch_lab = float(lab.float().mean())
        frac = batch_lab if labeled_fraction is None else float(labeled_fraction)
        if lab.any():
            y = labels[lab]
            ll = (
                self.log_likelihood(
                    self.render_logits(latent[lab], eye[y].unsqueeze(1), pixel_index)[:, 0],
                    targets[lab],
                )
                * w_pix
            )
            neg_elbo = -ll + beta * (kl_z[lab] + log_k)
            ce = F.cross_entropy(class_logits[lab], y, reduction="none")
            parts.append(frac * (neg_elbo + label_weight * ce).mean())
            terms["ce"] = ce.mean().detach()
            terms["recon_labeled"] = (-ll).mean().detach()
        unl = ~lab
        if unl.any():
            n_u = int(unl.sum())
            code = eye.unsqueeze(0).expand(n_u, -1, -1)
            ll = (
                self.log_likelihood(
                    self.render_logits(latent[unl], code, pixel_index), targets[unl].unsqueeze(1)
                )
                * w_pix
            )  # (n_u, K)
            q = dist.OneHotCategorical(logits=class_logits[unl])
            kl_y = log_k - q.entropy()
            neg_elbo = -(q.probs * ll).sum(-1) + beta * (kl_z[unl] + kl_y)
            parts.append((1.0 - frac) * neg_elbo.mean())
            terms["recon"] = -(q.probs * ll).sum(-1).mean().detach()
            terms["kl_y"] = kl_y.mean().detach()
        terms["kl"] = kl_z.mean().detach()
        if self.z_class_weight > 0:
            spread = self.z_class_spread(mean, class_logits, labels)
            parts.append(self.z_class_weight * spread)
            terms["z_class"] = spread.detach()
        if (
            self.training
            and self.pose_consistency > 0
            and "theta" in self.layout.slices()
            and not self.replaces_pose  # a searched angle: the term has nothing to move
        ):
            # the patches without the labeled ones' added noise: the term is about geometry
            # (the same tensor as the encoder's input when none was added: its template angle
            # is then not searched again)
            gap = self.pose_disagreement(clean, generator)
            parts.append(self.pose_consistency * gap)
            terms["pose_gap"] = gap.detach()
        return sum(parts), terms

    def z_class_spread(self, mean, class_logits, labels):
        """Between-class variance of the batch's z means, summed over z's dimensions: each
        patch weighted by its label (one-hot) or, unlabeled, by q(y|x) (held fixed, so the
        term moves only the encoder's z). 0 when z is independent of the class, which then
        has to come from y: the decoder draws each class from its class input, not from z."""
        z = mean[:, self.layout.slices()["z"]]
        eye = torch.eye(self.n_classes, device=z.device, dtype=z.dtype)
        weights = torch.where(
            (labels >= 0)[:, None],
            eye[labels.clamp_min(0)],
            torch.softmax(class_logits.detach(), -1),
        )
        return between_class_variance(z, weights)
