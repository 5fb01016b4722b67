"""An equivariant first guess of a patch's angle, from its angular Fourier moments.

Why: an rVAE's angle encoder gets no useful gradient while the decoder still renders a blurred,
nearly rotation-symmetric average of all patches, and the decoder stays blurred while the
angles are uninformative. With several kinds of patches (card suits, lattice sites) training
settles in that state and the angle latent never learns. Starting the angle from a guess that
rotates exactly with the content breaks the deadlock: the decoder sees the patches roughly
aligned from the first step, and the encoder only learns a correction. The ELBO is unchanged:
this is a choice of inference-network architecture.

For a patch ``p`` the angular moment of order ``m`` is
``c_m = sum_c w(|c|) (p(c) - mean p) exp(i m phi(c))`` over pixel coordinates ``c`` (the
decoder's grid, polar angle ``phi``). A patch that the decoder calls "rotated by theta",
``p(c) = T(R(theta) c)``, has ``c_m = exp(-i m theta) c_m(T)``, so ``-arg(c_m) / m`` moves by
exactly ``theta`` (modulo ``2 pi / m``). The order used is the data's dominant angular symmetry
(1 for a generic shape, 4 or 6 for lattice sites), picked from the training patches.
"""

from __future__ import annotations

import torch

#: candidate orders: generic shapes (1), dimers (2), and the lattice symmetries (3, 4, 6)
ORDERS = (1, 2, 3, 4, 6)


def moment_basis(grid: torch.Tensor, orders=ORDERS, window: float = 0.6):
    """Angular-moment weights on a pixel grid: ``(cos, sin, window)``.

    ``cos`` and ``sin`` are ``(len(orders), M)``; ``window`` is the radial weight ``(M,)``.

    Parameters
    ----------
    grid : (M, 2) tensor
        Pixel coordinates ``(x, y)`` in [-1, 1] (``latent.pixel_grid``).
    orders : sequence of int
        Angular orders m.
    window : float
        Gaussian radial window (fraction of the half-width): the patch centre matters most.
    """
    x, y = grid[:, 0], grid[:, 1]
    r2, phi = x**2 + y**2, torch.atan2(y, x)
    weight = torch.exp(-r2 / (2 * window**2)) * (r2 > 1e-12)
    m = torch.tensor(orders, dtype=grid.dtype)[:, None]
    return weight * torch.cos(m * phi), weight * torch.sin(m * phi), weight


def angular_moments(xn: torch.Tensor, basis) -> tuple[torch.Tensor, torch.Tensor]:
    """``(re, im)`` of the angular moments of patches ``(B, H, W)``, each ``(B, n_orders)``."""
    flat = xn.flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    cos_w, sin_w, _ = basis
    return flat @ cos_w.T, flat @ sin_w.T


def dominant_order(xn: torch.Tensor, basis, orders=ORDERS) -> int:
    """The data's dominant angular symmetry order.

    Each order's strength is the median over patches of ``|c_m|`` relative to the patch's
    total windowed contrast, so no order is favoured by the size of its basis.
    """
    re, im = angular_moments(xn, basis)
    magnitude = torch.sqrt(re**2 + im**2)
    flat = xn.flatten(1)
    contrast = (flat - flat.mean(1, keepdim=True)).abs() @ basis[2]
    strength = (magnitude / contrast.clamp_min(1e-12)[:, None]).median(0).values
    # the lowest order that is nearly as strong as the strongest: a generic shape has some
    # 3-fold content too, but only order 1 fixes its angle without ambiguity
    strong = torch.nonzero(strength >= 0.5 * strength.max()).flatten()
    return int(orders[int(strong[0])])


def angle_guess(xn: torch.Tensor, basis, order: int, orders=ORDERS) -> torch.Tensor:
    """Per-patch angle guess ``-arg(c_m) / m`` (radians, in ``(-pi/m, pi/m]``)."""
    re, im = angular_moments(xn, basis)
    k = list(orders).index(int(order))
    return -torch.atan2(im[:, k], re[:, k]) / int(order)


def guess_aligns(xn: torch.Tensor, basis, order: int, orders=ORDERS) -> bool:
    """Whether rotating each patch back by its guess makes the patches more alike.

    On data whose patches really differ by rotation (cards, particles, rotated shapes) the
    guesses bring them into one frame and the windowed variance across patches drops. On
    atom-centred patches of one crystal they all share one orientation already, and the
    guesses follow noise or content (which neighbour is brighter): rotating by them scatters
    the patches, and the decoder, asked to draw one template in random orientations, learns a
    rotationally blurred blob. There the guess is not used (``angle_hint_order`` 0).
    """
    from napari_ivae.core.models.latent import canonical_resample

    guess = angle_guess(xn, basis, order, orders)
    window = basis[2].reshape(xn.shape[1:])

    def spread(images):
        return float((images.var(0) * window).sum())

    # the reference: every patch turned by the guesses' circular mean, so that both sides are
    # interpolated alike (bilinear resampling smooths noise) and only the per-patch part differs
    m = int(order)
    mean_angle = torch.atan2(torch.sin(m * guess).mean(), torch.cos(m * guess).mean()) / m
    aligned = canonical_resample(xn, guess)
    common = canonical_resample(xn, torch.full_like(guess, float(mean_angle)))
    return spread(aligned) < spread(common)
