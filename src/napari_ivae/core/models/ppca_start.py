"""A linear model's start at probabilistic PCA of its training patches.

With ``template`` (a decoder with a linear part), :meth:`BaseIVAE.fit_normalization
<napari_ivae.core.models.base.BaseIVAE.fit_normalization>` starts the decoder's template and
the encoder's linear path at PPCA of the normalised patches, the networks silent: at step 0 the
model is exactly PPCA at pose 0.
"""

from __future__ import annotations

import math

import torch


def start_at_ppca(model, xn: torch.Tensor, mean: torch.Tensor, template: torch.Tensor):
    """Decoder template and encoder linear path at probabilistic PCA of the patches.

    Gaussian: channel 0 = mean patch, channel 1 + k = k-th principal image scaled by its
    standard deviation, and the encoder's linear path maps a patch to its unit-variance
    scores (so z ~ N(0, 1) over the data, as the prior wants); the posterior std starts at
    PPCA's. Bernoulli: all 0 (and frozen).

    Parameters
    ----------
    model : BaseIVAE
        The model whose decoder ``template`` and encoder's linear path are set (in place).
    xn : torch.Tensor
        ``(N, H, W)`` normalised training patches.
    mean : torch.Tensor
        Their mean patch ``(H, W)``.
    template : torch.Tensor
        The decoder's template parameter.

    Returns
    -------
    float or None
        The residual noise std (None for the Bernoulli likelihood).
    """
    shape = template.shape[-2:]
    template.zero_()
    model.encoder.linear.weight.zero_()
    model.encoder.linear.bias.zero_()
    if model.bernoulli:
        # near-binary patches (cards): the linear part stays 0 and frozen, the papers'
        # decoder alone (with the mean's logits k-means on the cards' z fell 0.818 -> 0.767)
        template.requires_grad_(False)
        model.encoder.linear.requires_grad_(False)
        return None
    n, k = xn.shape[0], model.config.latent_dim
    flat = (xn - mean).flatten(1).double()
    _, s, vt = torch.linalg.svd(flat, full_matrices=False)
    var = s**2 / max(n - 1, 1)
    kk = min(k, len(var))
    noise_var = float(var[kk:].sum()) / max(flat.shape[1] - kk, 1) if len(var) > kk else 0.0
    noise_var = max(noise_var, 1e-6)
    sd = var[:kk].sqrt().clamp_min(1e-6)
    template[0, 0] = mean.reshape(shape)
    template[0, 1 : 1 + kk] = (vt[:kk] * sd[:, None]).reshape(kk, *shape).to(template.dtype)
    z = model.layout.slices()["z"]
    enc = model.encoder
    rows = slice(z.start, z.start + kk)
    proj = (vt[:kk] / sd[:, None]).to(enc.linear.weight.dtype)
    enc.linear.weight[rows] = proj
    enc.linear.bias[rows] = -(proj @ mean.flatten().to(proj.dtype))
    # the networks start silent: at step 0 the model is exactly PPCA at pose 0
    enc.mean.weight.zero_()
    enc.mean.bias.zero_()
    model.decoder.out.weight.zero_()
    model.decoder.out.bias.zero_()
    # narrow initial posteriors: z at PPCA's, the pose at 0.05 (rad, half-widths), so the
    # first steps do not decode each patch at a random angle and blur the template
    post_std = (noise_var / (var[:kk] + noise_var)).sqrt().clamp(0.02, 1.0)
    enc.log_std.weight.mul_(0.01)
    enc.log_std.bias.fill_(math.log(0.05))
    enc.log_std.bias[rows] = post_std.log().to(enc.log_std.bias.dtype)
    return math.sqrt(noise_var)


__all__ = ["start_at_ppca"]
