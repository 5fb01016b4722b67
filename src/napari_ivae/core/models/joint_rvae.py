"""Joint rVAE: discrete classes y and continuous latents found together, without labels.

Review paper (002), section 7 and eq. 5: q(z, theta, offsets | x) as the rVAE, a classifier
q(y | x) (reading the patch in the decoder's canonical frame, as the ss-rVAE's), the spatial
decoder conditioned on the one-hot y, and the loss::

    E_q(y|x)[-log p(x | latents, y)] + gamma_z |KL_z - C_z(t)| + gamma_y |KL_y - C_y(t)|

with y summed out exactly over the K classes (the K decodings share the coordinate trunk).

Trained from scratch this objective puts the class into z and leaves y in one class (measured,
docs/performance.md), so training runs in two phases, driven by :meth:`JointRVAE.before_step`:

1. *warm-up* (``WARMUP_SHARE`` of the steps): the plain rVAE ELBO, decoder condition 0;
2. at the switch, two groupings of the warm-up's z codes of all training patches: k-means
   (:func:`napari_ivae.core.analysis.clustering.cluster_latents`) and a Gaussian mixture with full
   covariances (elongated groups); the one whose groups a Gaussian fit separates more clearly
   (:func:`mixture_entropy`) becomes the start, q(y|x) is fitted to it
   (``CLASSIFIER_INIT_STEPS`` of cross-entropy); then eq. 5, with a batch-marginal entropy bonus
   that keeps every class in use.

A model whose classes were initialised (buffer ``classes_ready``) goes straight to eq. 5 when it
is fine-tuned.

With ``ModelConfig.pose_templates`` (``"replace"`` by default for this kind) the switch also builds the
ss-rVAE's pose templates (:mod:`napari_ivae.core.models.pose_search`) from the model's *own*
start classes: each class's ``POSE_TEMPLATE_PATCHES`` patches of highest q(y|x) are aligned
among themselves (:func:`pose_search.align_class`), and from then on each patch's angle (and,
``"replace"``, its centroid as the offsets) is the best (class, angle) match, as the
ss-rVAE's (:class:`~napari_ivae.core.models.templated_pose.TemplatedPose`); q(y|x) is then
fitted again in that frame. Without it the encoder's angle is no consistent frame across a class and
each class decodes as a rotational average (docs/performance.md). With the templates the
decoder also has one image per class (``ModelConfig.class_template``), started at the switch
from the class's template (:meth:`JointRVAE.start_class_images`), so each class decodes as its
own shape from the first joint step.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from napari_ivae.core.models import pose_search
from napari_ivae.core.models.base import BaseIVAE
from napari_ivae.core.models.latent import canonical_resample
from napari_ivae.core.models.nets import Classifier
from napari_ivae.core.models.templated_pose import TemplatedPose

#: share of the training steps spent as a plain rVAE before the classes are initialised
WARMUP_SHARE = 0.5
#: cross-entropy steps (batches of 256) that fit q(y|x) to the warm-up's k-means classes
CLASSIFIER_INIT_STEPS = 200
#: eq. 5 weights and capacities (nats). C_y = log K (each patch confidently in one class) from
#: the switch on: a C_y ramped up from 0 (JointVAE's schedule, share ``CAPACITY_Y_RAMP`` of the
#: joint phase) first pulls q(y|x) towards uniform and undid the k-means start (measured)
GAMMA_Z = 1.0
CAPACITY_Z = 0.0
GAMMA_Y = 30.0
CAPACITY_Y_RAMP = 0.0
#: weight of the batch-marginal class entropy bonus (per patch, in nats)
MARGINAL_WEIGHT = 50.0


#: with class images (``ModelConfig.class_template``, on with the pose templates): at the switch
#: the decoder network's output layer restarts at 0, so each class decodes as its image (its
#: pose template) and the network learns only what z changes (docs/performance.md)
RESTART_OUTPUT = True

#: most confident patches per start class that its pose template is aligned from
POSE_TEMPLATE_PATCHES = 64

#: EM iterations and restarts of the Gaussian mixture on the warm-up's z codes
MIXTURE_ITERATIONS = 150
MIXTURE_RESTARTS = 4
_RIDGE = 1e-6  # added to each covariance (standardised units): no singular group


def _gaussian_log_densities(points, labels=None, resp=None, k=2):
    """``(N, K)`` log(weight x Gaussian density) of each point under each group, the groups
    fitted to hard ``labels`` or to soft responsibilities ``resp``."""
    if resp is None:
        resp = np.eye(k)[labels]
    n, d = points.shape
    out = np.empty((n, k))
    for j in range(k):
        w = resp[:, j]
        total = max(float(w.sum()), 1e-9)
        mu = (w[:, None] * points).sum(0) / total
        diff = points - mu
        cov = (w[:, None] * diff).T @ diff / total + _RIDGE * np.eye(d)
        _, logdet = np.linalg.slogdet(cov)
        maha = np.einsum("ni,ij,nj->n", diff, np.linalg.inv(cov), diff)
        out[:, j] = math.log(total / n) - 0.5 * (logdet + maha + d * math.log(2 * math.pi))
    return out


def _responsibilities(log_dens):
    top = log_dens.max(1, keepdims=True)
    r = np.exp(log_dens - top)
    total = r.sum(1, keepdims=True)
    return r / total, float((top[:, 0] + np.log(total[:, 0])).sum())


def gaussian_mixture(points: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Classes of a Gaussian mixture with full covariances fitted by EM to standardised
    ``points`` (``(N, F)``): ``MIXTURE_RESTARTS`` starts from k-means, the highest likelihood
    wins. Returns the most probable class of every point."""
    from napari_ivae.core.analysis.clustering import cluster_latents

    best: tuple[float, np.ndarray] | None = None
    for r in range(MIXTURE_RESTARTS):
        labels = cluster_latents(points, k, seed=seed + r, restarts=1).labels
        resp, loglik = np.eye(k)[labels], -np.inf
        for _ in range(MIXTURE_ITERATIONS):
            resp, new = _responsibilities(_gaussian_log_densities(points, resp=resp, k=k))
            if new - loglik < 1e-6 * abs(new):
                loglik = new
                break
            loglik = new
        if best is None or loglik > best[0]:
            best = (loglik, resp.argmax(1))
    assert best is not None
    return best[1]


def mixture_entropy(points: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean entropy (nats) of the class posteriors of a Gaussian mixture (full covariances)
    fitted to the grouping ``labels`` of ``points``: near 0 when the groups are clearly
    apart, up to log K when they overlap."""
    if np.bincount(labels, minlength=k).min() < points.shape[1] + 1:
        return math.log(k)  # a group too small to fit a covariance
    resp, _ = _responsibilities(_gaussian_log_densities(points, labels=labels, k=k))
    return float(-(resp * np.log(np.clip(resp, 1e-12, 1.0))).sum(1).mean())


def start_classes(z: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """The joint rVAE's initial classes from the warm-up's codes ``z`` ``(N, F)``.

    k-means (:func:`napari_ivae.core.analysis.clustering.cluster_latents`) and a Gaussian mixture
    (:func:`gaussian_mixture`, for elongated groups, which k-means cuts across) are both fitted;
    the grouping with the lower :func:`mixture_entropy` is returned. On the cards' warm-up
    codes (3 seeds) this picked the better start every time (docs/performance.md).
    """
    from napari_ivae.core.analysis.clustering import cluster_latents

    z = np.asarray(z, dtype=np.float64)
    kmeans = cluster_latents(z, k, seed=seed).labels
    spread = z.std(0)
    zs = (z - z.mean(0)) / np.where(spread > 0, spread, 1.0)
    try:
        mixture = gaussian_mixture(zs, k, seed)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError):
        return kmeans
    if len(np.unique(mixture)) < k:
        return kmeans
    return mixture if mixture_entropy(zs, mixture, k) < mixture_entropy(zs, kmeans, k) else kmeans


class JointRVAE(TemplatedPose):
    """Joint rotation-invariant VAE: K unsupervised classes and continuous latents.

    Parameters
    ----------
    config : ModelConfig
        ``kind="jrvae"``, ``n_classes >= 2`` (the number of classes to find).
    """

    classes_ready: torch.Tensor  # a buffer

    def __init__(self, config):
        super().__init__(config)
        self.n_classes = int(config.n_classes)
        self.classifier = Classifier(
            self.n_pixels, self.n_classes, config.hidden, config.activation
        )
        self.register_buffer("classes_ready", torch.zeros((), dtype=torch.bool))
        # share of the current training run done (set by before_step; not saved)
        self.progress = 1.0
        self.warmup_share = WARMUP_SHARE
        self.gamma_z, self.capacity_z = GAMMA_Z, CAPACITY_Z
        self.gamma_y, self.marginal_weight = GAMMA_Y, MARGINAL_WEIGHT
        self.capacity_y_ramp = CAPACITY_Y_RAMP
        self.classifier_init_steps = CLASSIFIER_INIT_STEPS
        self.initial_classes: np.ndarray | None = None  # set at the switch (not saved)
        self._template_background: list[float | None] = []  # set at the switch (not saved)
        # each start class's template (fitted at the switch) and its symmetry order
        # (0 = not fitted: the encoder's pose)
        self._register_pose_templates(config, self.n_classes)

    def code_extra_dim(self) -> int:
        return int(self.config.n_classes)

    # ----------------------------------------------------------------- pose templates
    @torch.no_grad()
    def fit_own_templates(self, patches: torch.Tensor, labels: np.ndarray) -> None:
        """Each class's pose template from its :data:`POSE_TEMPLATE_PATCHES` patches (of
        ``labels``) of highest q(y|x) (:func:`pose_search.align_class`)."""
        probs = []
        for i in range(0, len(patches), 512):
            xn = self.normalize(patches[i : i + 512])
            probs.append(torch.softmax(self.classifier_logits(xn), -1))
        q = torch.cat(probs).cpu().numpy()
        confidence = q[np.arange(len(labels)), labels]
        chosen: list[torch.Tensor | None] = []
        for k in range(self.n_classes):
            sel = np.flatnonzero(labels == k)
            if len(sel) == 0:
                chosen.append(None)
                continue
            sel = sel[np.argsort(-confidence[sel], kind="stable")][:POSE_TEMPLATE_PATCHES]
            chosen.append(self.normalize(patches[torch.as_tensor(sel, device=patches.device)]))
        # each class's background level (median of its chosen patches' medians): the
        # templates are background-free (start_class_images adds it back)
        self._template_background = [
            None if x is None else float(x.flatten(1).median(1).values.median()) for x in chosen
        ]
        pose_search.store_templates(self.pose_templates, self.pose_orders, chosen)

    @torch.no_grad()
    def start_class_images(self) -> None:
        """At the switch, with class images (``ModelConfig.class_template``): each class's
        decoder image starts at its pose template plus its background (the class drawn in the
        templates' frame, which is the decoder's from the switch on: the canonical frame of
        :func:`~napari_ivae.core.models.latent.canonical_resample`; logits for Bernoulli,
        clipped to 0.02-0.98; less the linear part's mean image for Gaussian), and
        (:data:`RESTART_OUTPUT`) the network's output layer at 0. Without it the decoder,
        trained in the encoder's frame during the warm-up, had only the joint half of the
        steps to redraw the classes in the templates' frame and drew two of four suits
        (docs/performance.md)."""
        images = getattr(self.decoder, "class_template", None)
        if images is None:
            return
        for k in range(self.n_classes):
            level = self._template_background[k] if k < len(self._template_background) else None
            if int(self.pose_orders[k]) <= 0 or level is None:
                continue
            t = self.pose_templates[k] + level
            base = getattr(self.decoder, "template", None)
            if base is not None and not self.bernoulli:
                t = t - base[0, 0]  # the linear part's mean image is added to every class
            if self.bernoulli:
                t = torch.logit(t.clamp(0.02, 0.98))
            images[0, k] = t.to(images.dtype)
        out = getattr(self.decoder, "out", None)
        if RESTART_OUTPUT and isinstance(out, torch.nn.Linear):
            out.weight.zero_()
            if out.bias is not None:
                out.bias.zero_()

    def classifier_logits(self, xn: torch.Tensor, mean: torch.Tensor | None = None):
        """Class logits of normalised patches ``(B, H, W)``, read in the canonical frame."""
        if self.layout.spatial and self.config.canonical_classifier:
            if mean is None:
                mean, _ = self.encode_gaussian(xn)
            parts = self.geometry(mean.detach())
            xn = canonical_resample(
                xn, parts.get("theta"), parts.get("offsets"), parts.get("scale")
            )
        return self.classifier(xn)

    # ----------------------------------------------------------------- training phases
    def before_step(self, step: int, total: int, patches: torch.Tensor, generator) -> None:
        """Called by :func:`napari_ivae.core.models.training.train` before every step.

        Records the run's progress and, at the end of the warm-up, initialises the classes.
        """
        self.progress = step / max(total, 1)
        if not bool(self.classes_ready) and self.progress >= self.warmup_share:
            self.initialise_classes(patches, generator)

    def _phase2_progress(self) -> float:
        start = 0.0 if self.warmup_share >= 1 else self.warmup_share
        return min(max((self.progress - start) / max(1.0 - start, 1e-6), 0.0), 1.0)

    @torch.no_grad()
    def _codes(self, patches: torch.Tensor, batch: int = 512):
        means = []
        for i in range(0, len(patches), batch):
            xn = self.normalize(patches[i : i + batch])
            mean, _ = self.encode_gaussian(xn)
            means.append(mean)
        return torch.cat(means)

    def initialise_classes(self, patches: torch.Tensor, generator) -> np.ndarray:
        """Initial classes of ``patches`` from their z codes (:func:`start_classes`), then fit
        q(y|x) to those classes.

        Returns the initial classes.
        """
        was_training = self.training
        self.eval()
        mean = self._codes(patches)
        z = self.geometry(mean)["z"].cpu().numpy().astype(np.float64)
        seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        labels = start_classes(z, self.n_classes, seed=seed)
        self.initial_classes = labels
        self._fit_classifier(patches, labels, mean, generator, was_training)
        if self.config.pose_templates and "theta" in self.layout.slices():
            self.eval()
            self.fit_own_templates(patches, labels)
            # q(y|x) again, reading the patches in the templates' frame
            self._fit_classifier(patches, labels, self._codes(patches), generator, was_training)
            self.start_class_images()
        self.classes_ready.fill_(True)
        return labels

    def _fit_classifier(self, patches, labels, mean, generator, was_training) -> None:
        """``classifier_init_steps`` of cross-entropy of q(y|x) against ``labels``."""
        target = torch.as_tensor(labels, device=patches.device)
        optimizer = torch.optim.Adam(self.classifier.parameters(), lr=1e-3)
        n = len(patches)
        self.train(was_training)
        for _ in range(self.classifier_init_steps):
            idx = torch.randint(n, (min(256, n),), generator=generator).to(patches.device)
            with torch.no_grad():
                xn = self.normalize(patches[idx])
                m = mean[idx]
            ce = F.cross_entropy(self.classifier_logits(xn, m), target[idx])
            optimizer.zero_grad(set_to_none=True)
            ce.backward()
            optimizer.step()

    # ----------------------------------------------------------------- objective
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
        """Warm-up: the rVAE's negative ELBO; afterwards eq. 5 with y summed out (labels unused)."""
        if not bool(self.classes_ready):
            return BaseIVAE.loss(self, x, beta=beta, generator=generator, pixel_index=pixel_index)
        xn = self.normalize(x)
        mean, std = self.encode_gaussian(xn)
        latent = self.reparameterize(mean, std, generator)
        kl_z = self.kl(mean, std, latent)
        logits = self.classifier_logits(xn, mean)
        q = torch.softmax(logits, -1)
        log_q = torch.log_softmax(logits, -1)
        k = self.n_classes
        eye = torch.eye(k, device=x.device, dtype=x.dtype)
        code = eye.unsqueeze(0).expand(x.shape[0], -1, -1)
        ll = self.log_likelihood(
            self.render_logits(latent, code, pixel_index),
            self.pixel_targets(xn, pixel_index).unsqueeze(1),
        )
        recon = -(q * ll).sum(-1) * self.pixel_weight(pixel_index)
        kl_y = math.log(k) + (q * log_q).sum(-1)
        t = self._phase2_progress()
        c_y = math.log(k) * (
            min(1.0, t / self.capacity_y_ramp) if self.capacity_y_ramp > 0 else 1.0
        )
        c_z = self.capacity_z * min(1.0, 2.0 * t)
        marginal = q.mean(0)
        h_marginal = -(marginal * torch.log(marginal.clamp_min(1e-8))).sum()
        loss = (
            recon + beta * self.gamma_z * (kl_z - c_z).abs() + self.gamma_y * (kl_y - c_y).abs()
        ).mean()
        loss = loss - self.marginal_weight * h_marginal
        return loss, {
            "recon": recon.mean().detach(),
            "kl": kl_z.mean().detach(),
            "kl_y": kl_y.mean().detach(),
            "class_entropy": h_marginal.detach(),
        }
