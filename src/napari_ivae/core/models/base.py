"""BaseIVAE: what every model shares (normalisation buffers, encoder, decoder, ELBO pieces).

Models are plain ``torch.nn.Module``s; the ELBO is computed explicitly with Pyro
*distributions* (no Pyro param store, no global state), so any number of models can live and
train in one process. Everything needed to rebuild a model is ``model.config`` plus
``model.state_dict()`` (normalisation included, as buffers).
"""

from __future__ import annotations

import math

import numpy as np
import pyro.distributions as dist
import torch
from pyro.distributions.kl import kl_divergence
from torch import nn

from napari_ivae.core.models import pose
from napari_ivae.core.models.config import ModelConfig, choose_likelihood
from napari_ivae.core.models.latent import LatentLayout, pixel_grid, transform_grid
from napari_ivae.core.models.nets import GaussianEncoder, MLPDecoder, SpatialDecoder
from napari_ivae.core.models.ppca_start import start_at_ppca


def between_class_variance(z: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Variance of the codes ``z`` (B, D) that lies between classes, summed over D: the class
    means' spread about the batch mean, each class weighted by its share of ``weights``
    (B, K; one-hot labels or class probabilities)."""
    counts = weights.sum(0)
    class_means = (weights.T @ z) / counts.clamp_min(1e-6)[:, None]
    share = counts / counts.sum()
    return (share * (class_means - z.mean(0)).square().sum(-1)).sum()


class BaseIVAE(nn.Module):
    """Shared machinery of the VAE family; subclasses define the geometry and the loss.

    Parameters
    ----------
    config : ModelConfig
        How the model is built; kept as ``self.config``.
    """

    #: multiplier of the encoded offsets before they shift the grid (shift-VAE's k)
    offset_gain: float = 1.0

    #: weight of z's part of the KL term, set by ``train()`` before every step
    #: (``TrainConfig.z_kl_at``); the geometric latents always keep weight 1
    z_kl_weight: float = 1.0

    # buffers (register_buffer), declared for type checkers
    norm_offset: torch.Tensor
    norm_scale: torch.Tensor
    norm_fitted: torch.Tensor
    grid: torch.Tensor
    pose_cos: torch.Tensor
    pose_sin: torch.Tensor
    pose_window: torch.Tensor
    angle_hint_order: torch.Tensor
    gaussian: torch.Tensor
    standardized: torch.Tensor
    patch_level: torch.Tensor
    patch_contrast: torch.Tensor
    decoder: SpatialDecoder | MLPDecoder

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.layout = LatentLayout.from_invariances(config.invariances, config.latent_dim)
        self.n_pixels = int(np.prod(config.patch_shape))
        self.register_buffer("norm_offset", torch.zeros(()))
        self.register_buffer("norm_scale", torch.ones(()))
        self.register_buffer("norm_fitted", torch.zeros((), dtype=torch.bool))
        self.register_buffer("grid", pixel_grid(config.patch_shape), persistent=False)
        linear = bool(config.template and self.layout.spatial)
        self.encoder = GaussianEncoder(
            self.n_pixels, self.layout.size, config.hidden, config.activation, linear=linear
        )
        if config.angle_hint:
            cos_w, sin_w, window = pose.moment_basis(self.grid)
            self.register_buffer("pose_cos", cos_w, persistent=False)
            self.register_buffer("pose_sin", sin_w, persistent=False)
            self.register_buffer("pose_window", window, persistent=False)
            # 0 until training picks the data's angular symmetry order
            self.register_buffer("angle_hint_order", torch.zeros((), dtype=torch.long))
        extra = self.code_extra_dim()
        if self.layout.spatial:
            self.decoder = SpatialDecoder(
                config.latent_dim,
                config.hidden,
                config.activation,
                class_dim=extra,
                coord_features=config.coord_features or 0,
                max_frequency=config.max_frequency * min(config.patch_shape),
                film=config.film,
                template_shape=config.patch_shape if config.template else None,
                class_film=bool(config.class_film),
                class_template_shape=config.patch_shape if config.class_template else None,
            )
        else:
            self.decoder = MLPDecoder(
                config.latent_dim + extra, self.n_pixels, config.hidden, config.activation
            )
        # the likelihood in use; with "auto" decided from the training patches (and saved)
        self.register_buffer(
            "gaussian",
            torch.tensor(config.likelihood == "gaussian"),
            persistent=config.likelihood == "auto",
        )
        if config.likelihood != "bernoulli":
            self.log_noise = nn.Parameter(torch.tensor(math.log(0.1)))
        # intensity invariance: whether each patch is brought to the training patches'
        # typical level and contrast (raw units) before normalisation; with None decided with
        # the likelihood from the training patches (and saved)
        self.register_buffer(
            "standardized",
            torch.tensor(config.intensity_invariant is True),
            persistent=config.intensity_invariant is None,
        )
        stored = config.intensity_invariant is not False
        self.register_buffer("patch_level", torch.zeros(()), persistent=stored)
        self.register_buffer("patch_contrast", torch.ones(()), persistent=stored)

    @property
    def bernoulli(self) -> bool:
        """True when the model uses the Bernoulli likelihood (data clipped to [0, 1])."""
        return not bool(self.gaussian)

    def init_weights(self, seed: int) -> None:
        """Re-initialise every layer from ``seed`` (PyTorch's default scheme, explicit generator)."""
        gen = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for module in self.modules():
                if isinstance(module, nn.Linear):
                    weight = torch.empty(module.weight.shape)
                    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=gen)
                    module.weight.copy_(weight)
                    if module.bias is not None:
                        bound = 1.0 / math.sqrt(module.in_features)
                        bias = torch.empty(module.bias.shape).uniform_(-bound, bound, generator=gen)
                        module.bias.copy_(bias)
            if self.config.likelihood != "bernoulli":
                self.log_noise.fill_(math.log(0.1))
            code_scale = getattr(self.decoder, "code_scale", None)
            if code_scale is not None:
                code_scale.weight.zero_()  # starts as the additive decoder
            if self.config.posterior_init_std > 0:
                # q(latent|x) starts narrow: the decoder first sees each patch's code (and
                # pose) without the prior's full spread, so it can learn a sharp template
                self.encoder.log_std.weight.mul_(0.01)
                self.encoder.log_std.bias.fill_(math.log(self.config.posterior_init_std))

    # ----------------------------------------------------------------- hooks for subclasses
    def code_extra_dim(self) -> int:
        """Extra decoder inputs besides z (ss-rVAE: one-hot class)."""
        return 0

    def offset_prior_std(self) -> float:
        """Prior std of the offset latents (half-width units for rVAE)."""
        prior = self.config.translation_prior
        assert prior is not None  # ModelConfig resolved the kind's default
        return 2.0 * prior

    # ----------------------------------------------------------------- normalisation
    def fit_normalization(self, patches: np.ndarray) -> None:
        """Record what the model learns from its training patches before any step: the
        intensity normalisation (min -> 0, max -> 1), the likelihood when it is ``"auto"``,
        the decoder's template (the mean normalised patch; logits for Bernoulli), the initial
        Gaussian noise scale (the patches' spread around that mean) and, with ``angle_hint``,
        the patches' dominant angular symmetry order."""
        lo, hi = float(np.min(patches)), float(np.max(patches))
        scale = hi - lo if hi > lo else 1.0
        self.norm_offset.fill_(lo)
        self.norm_scale.fill_(scale)
        self.norm_fitted.fill_(True)
        if self.config.likelihood == "auto":
            self.gaussian.fill_(choose_likelihood(patches) == "gaussian")
        if self.config.intensity_invariant is None:
            self.standardized.fill_(not self.bernoulli)
        if bool(self.standardized):
            flat = np.asarray(patches[:4096], dtype=np.float64).reshape(min(len(patches), 4096), -1)
            self.patch_level.fill_(float(flat.mean()))
            self.patch_contrast.fill_(float(np.median(flat.std(1, ddof=1))) or 1.0)
        template = getattr(self.decoder, "template", None)
        if np.ndim(patches) == 3 and (template is not None or not self.bernoulli):
            sample = torch.as_tensor(np.asarray(patches[:4096], dtype=np.float32))
            with torch.no_grad():
                xn = self.normalize(sample.to(self.norm_offset.device))
                mean = xn.mean(0)
                noise = float((xn - mean).std())
                if template is not None:
                    noise = start_at_ppca(self, xn, mean, template) or noise
                if not self.bernoulli:
                    self.log_noise.fill_(math.log(max(noise, 1e-3)))
        if self.config.angle_hint and np.ndim(patches) == 3:
            sample = torch.as_tensor(np.asarray(patches[:2048], dtype=np.float32))
            with torch.no_grad():
                xn = self.normalize(sample.to(self.norm_offset.device))
                order = pose.dominant_order(xn, self._pose_basis())
                if not pose.guess_aligns(xn, self._pose_basis(), order):
                    order = 0  # one orientation already: the guess would only scatter it
            self.angle_hint_order.fill_(order)

    def fit_class_templates(self, patches: np.ndarray, labels) -> None:
        """Set the decoder's class images (``class_template``) before the first step; here
        they stay at 0 (ss-rvae: started at the labeled class means, the classifier fell to
        0.40); :class:`CRVAE` starts them at its class means."""

    def _pose_basis(self):
        return self.pose_cos, self.pose_sin, self.pose_window

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """Patches ``(..., H, W)`` at the training patches' typical level and contrast (raw
        units): each patch's own mean and standard deviation replaced by them."""
        mean = x.mean((-2, -1), keepdim=True)
        std = x.std((-2, -1), keepdim=True).clamp_min(float(self.patch_contrast) * 1e-3)
        return (x - mean) * (self.patch_contrast / std) + self.patch_level

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the stored normalisation (after :meth:`standardize` for an intensity-invariant
        model); clipped to [0, 1] for the Bernoulli likelihood."""
        if bool(self.standardized):
            x = self.standardize(x)
        x = (x - self.norm_offset) / self.norm_scale
        return x.clamp(0.0, 1.0) if self.bernoulli else x

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map decoder means back to the input intensity range."""
        return x * self.norm_scale + self.norm_offset

    # ----------------------------------------------------------------- encoder / decoder
    def encode_gaussian(self, xn: torch.Tensor):
        """``(mean, std)`` of q(latent | x), each ``(B, layout.size)``."""
        mean, std = self.encoder(xn)
        if self.config.angle_hint and int(self.angle_hint_order) > 0:
            guess = pose.angle_guess(xn, self._pose_basis(), int(self.angle_hint_order))
            t = self.layout.slices()["theta"]
            mean = torch.cat(
                [mean[:, : t.start], mean[:, t] + guess[:, None], mean[:, t.stop :]], dim=1
            )
        return mean, std

    def geometry(self, latent: torch.Tensor) -> dict:
        """Named latent parts, offsets multiplied by ``offset_gain`` (what shifts the grid)."""
        parts = self.layout.split(latent)
        if "offsets" in parts:
            parts["offsets"] = parts["offsets"] * self.offset_gain
        return parts

    def render_logits(self, latent: torch.Tensor, code_extra=None, pixel_index=None):
        """Decoder output (logits or means) for latents ``(B, size)``.

        ``code_extra`` ``(B, K, e)`` adds K enumerated conditions sharing each sample's
        geometry; the output is then ``(B, K, M)``, else ``(B, M)``.
        """
        parts = self.geometry(latent)
        z = parts["z"]
        if not self.layout.spatial:
            if code_extra is not None:
                z = torch.cat([z.unsqueeze(1).expand(-1, code_extra.shape[1], -1), code_extra], -1)
            return self.decoder(z, pixel_index)
        grid = self.grid if pixel_index is None else self.grid[pixel_index]
        coords = transform_grid(grid, parts.get("theta"), parts.get("offsets"), parts.get("scale"))
        return self.decoder(coords, z, code_extra)

    def mean_image(self, logits: torch.Tensor) -> torch.Tensor:
        """Decoder mean in normalised units."""
        return torch.sigmoid(logits) if self.bernoulli else logits

    # ----------------------------------------------------------------- ELBO pieces
    def log_likelihood(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Sum over pixels of log p(x | latent); ``target`` broadcasts against ``logits``."""
        if self.bernoulli:
            lp = dist.Bernoulli(logits=logits, validate_args=False).log_prob(target)
        else:
            lp = dist.Normal(logits, torch.exp(self.log_noise).clamp_min(1e-3)).log_prob(target)
        return lp.sum(-1)

    def kl(self, mean: torch.Tensor, std: torch.Tensor, sample: torch.Tensor) -> torch.Tensor:
        """Per-sample KL(q(latent|x) || p(latent)) summed over latent dimensions.

        Analytic for Gaussian priors; single-sample Monte Carlo for the von Mises angle prior.
        """
        prior_std = torch.ones_like(mean)
        sl = self.layout.slices()
        if "offsets" in sl:
            prior_std[:, sl["offsets"]] = self.offset_prior_std()
        if "scale" in sl:
            prior_std[:, sl["scale"]] = self.config.scale_prior
        circular = "theta" in sl and self.config.angle_prior == "von_mises"
        if "theta" in sl and not circular:
            prior_std[:, sl["theta"]] = self.config.angle_prior_scale
        q = dist.Normal(mean, std)
        kl = kl_divergence(q, dist.Normal(torch.zeros_like(mean), prior_std))
        if circular:
            t = sl["theta"]
            kappa = 1.0 / self.config.angle_prior_scale**2
            prior = dist.VonMises(mean.new_zeros(()), mean.new_tensor(kappa), validate_args=False)
            theta = sample[:, t]
            kl[:, t] = q.log_prob(sample)[:, t] - prior.log_prob(theta)
        if self.z_kl_weight != 1.0:
            kl[:, sl["z"]] = kl[:, sl["z"]] * self.z_kl_weight
        return kl.sum(-1)

    @staticmethod
    def reparameterize(mean, std, generator=None):
        """Sample ``mean + std * eps`` with an explicit generator (None = use the mean)."""
        if generator is False:
            return mean
        eps = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + std * eps

    def pixel_targets(self, xn: torch.Tensor, pixel_index=None) -> torch.Tensor:
        """Flattened normalised pixels (optionally the subset evaluated this step)."""
        flat = xn.flatten(1)
        return flat if pixel_index is None else flat[:, pixel_index]

    def pixel_weight(self, pixel_index) -> float:
        """``N_pix / M``: keeps the subsampled log-likelihood an unbiased estimate."""
        return 1.0 if pixel_index is None else self.n_pixels / len(pixel_index)

    # ----------------------------------------------------------------- training objective
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
        """Negative ELBO per patch (batch mean) and its terms.

        Parameters
        ----------
        x : (B, H, W) tensor
            Raw patches (normalised here with the stored buffers).
        labels : (B,) int tensor or None
            Ignored by unsupervised models.
        beta : float
            KL weight.
        generator : torch.Generator
            Source of the latent noise.
        pixel_index : (M,) long tensor or None
            Pixel subset evaluated by the decoder this step.

        Returns
        -------
        loss : scalar tensor
        terms : dict of scalar tensors (``recon``, ``kl``)
        """
        xn = self.normalize(x)
        mean, std = self.encode_gaussian(xn)
        latent = self.reparameterize(mean, std, generator)
        logits = self.render_logits(latent, pixel_index=pixel_index)
        recon = -self.log_likelihood(logits, self.pixel_targets(xn, pixel_index))
        recon = recon * self.pixel_weight(pixel_index)
        kl = self.kl(mean, std, latent)
        loss = (recon + beta * kl).mean()
        return loss, {"recon": recon.mean().detach(), "kl": kl.mean().detach()}
