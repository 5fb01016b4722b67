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

import math

import torch

from napari_ivae.core.models.latent import pixel_grid

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


#: fraction of the half-width that separates a patch's core from its surroundings
#: (:func:`guess_agreement`)
CORE_RADIUS = 0.45
#: the agreement (mean resultant) of the core's and the surroundings' guesses above which the
#: patches turn as one body: 0.85-0.95 on the cards, 0.03-0.29 on atom-column patch sets whose
#: guess follows a brighter neighbour or the column's offset (performance.md, "rVAE angle")
RIGID_AGREEMENT = 0.5
#: shuffles of the guesses among the patches for :func:`guess_aligns`' null
SHUFFLES = 20
#: the least share of what the turned patches share (angular orders > 0) that the turn must
#: have made: 0.70-1.00 on cards (0.97 under noise of std 1), 0.06 on 41 TEM particles
#: (performance.md, "rVAE angle")
SHARED_GAIN = 0.5


def angular_spectrum(xn: torch.Tensor, n_angles: int = 64, window: float = 0.6):
    """Angular Fourier coefficients of patches on rings about their centre.

    Each ring (radius 1, 2, ... px up to the inscribed circle) is sampled at ``n_angles``
    fixed places, bilinearly, once; a turn of the patch by ``theta`` is then the exact
    multiplication of order ``m`` by ``exp(-i m theta)``. Unlike resampling the turned patch,
    this treats noise alike at every angle (bilinear resampling smooths white noise by an
    amount that depends on the angle: none at multiples of 90 degrees).

    Returns
    -------
    coefficients : (B, n_angles // 2 + 1, K) complex tensor
        Order m along axis 1 (the patch's own mean removed), ring along axis 2.
    weights : (K,) tensor
        Each ring's weight: the radial window (as in :func:`moment_basis`) times its length.
    """
    b, h, w = xn.shape
    half = (min(h, w) - 1) / 2
    radii = torch.arange(1, int(half) + 1, dtype=torch.float64)
    angles = torch.arange(n_angles, dtype=torch.float64) * (2 * math.pi / n_angles)
    gx = radii[:, None] * torch.cos(angles)[None] / ((w - 1) / 2)
    gy = radii[:, None] * torch.sin(angles)[None] / ((h - 1) / 2)
    grid = torch.stack([gx, gy], -1).to(xn.dtype)[None].expand(b, -1, -1, -1)
    centred = xn - xn.flatten(1).mean(1)[:, None, None]
    rings = torch.nn.functional.grid_sample(
        centred[:, None], grid, mode="bilinear", align_corners=True
    )[:, 0]
    coefficients = torch.fft.rfft(rings.double(), dim=-1) / n_angles
    weights = torch.exp(-((radii / half) ** 2) / (2 * window**2)) * radii
    return coefficients.transpose(1, 2), weights


def coherent_energy(coefficients, weights, turn, orders_used) -> float:
    """Weighted energy of the mean of the patches each turned by ``turn`` (radians, (B,)),
    over the orders where ``orders_used`` (bool, (M,)) holds: what one template shared by all
    turned patches can explain there."""
    used = coefficients[:, orders_used]
    m = torch.arange(coefficients.shape[1], dtype=torch.float64)[orders_used]
    phases = torch.exp(-1j * m[None, :] * turn.double()[:, None])
    mean = torch.einsum("bm,bmk->mk", phases, used) / len(used)
    return float((mean.abs() ** 2 * weights[None]).sum())


def part_guesses(xn: torch.Tensor, order: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The guesses (as :func:`angle_guess`, unweighted) of each patch's core (within
    :data:`CORE_RADIUS` of the half-width) and of its surroundings, each ``(B,)``: two
    estimates from different pixels, so with independent noise."""
    grid = pixel_grid(xn.shape[1:], device=xn.device).to(xn.dtype)
    x, y = grid[:, 0], grid[:, 1]
    r, phi = torch.sqrt(x**2 + y**2), torch.atan2(y, x)
    flat = xn.flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    guesses = []
    for part in (r < CORE_RADIUS, r >= CORE_RADIUS):
        weight = part.to(xn.dtype)
        re = flat @ (weight * torch.cos(order * phi))
        im = flat @ (weight * torch.sin(order * phi))
        guesses.append(-torch.atan2(im, re) / order)
    return guesses[0], guesses[1]


def guess_agreement(xn: torch.Tensor, order: int) -> float:
    """Mean resultant of ``order * (core guess - surroundings' guess)`` over patches
    (:func:`part_guesses`).

    On objects that turn as one body (cards, shapes) the two move together and their
    difference is nearly constant (resultant near 1); where the guess follows one part only
    (a brighter neighbour, the centre column's offset) or noise, they are independent (near 0).
    """
    return _agreement(*part_guesses(xn, order), order)


def _agreement(core: torch.Tensor, around: torch.Tensor, order: int) -> float:
    difference = (order * (core - around)).double()
    return float(torch.sqrt(torch.cos(difference).mean() ** 2 + torch.sin(difference).mean() ** 2))


def guess_aligns(xn: torch.Tensor, basis, order: int, orders=ORDERS) -> bool:
    """Whether turning each patch back by its guess brings the patches into one frame.

    On data whose patches really differ by rotation (cards, rotated shapes) the guesses bring
    them into one frame. On atom-centred patches of one crystal they all share one
    orientation already, and the guesses follow noise or content (which neighbour is
    brighter, the column's sub-pixel offset): turning by them scatters the patches, and the
    decoder, asked to draw one template in random orientations, learns a rotationally blurred
    blob. There the guess is not used (``angle_hint_order`` 0).

    Three tests, none of which noise can pass. Structure is compared exactly, on the
    :func:`angular_spectrum` (:func:`coherent_energy`: a turn treats noise alike at every
    angle); at the guess's own order a patch's guess lines up its own noise, so there the
    core's rings are turned by the surroundings' guess and the other rings by the core's
    (:func:`part_guesses`, independent pixels).

    1. The patches turn as one body: the guesses of each patch's core and of its
       surroundings agree (:func:`guess_agreement` above :data:`RIGID_AGREEMENT`), which
       noise, a brighter neighbour or an offset column do not produce.
    2. Turned, they lose no structure they share as they are at the other orders (an offset
       particle or a lattice of one orientation turned to its offset would).
    3. The structure the turn makes shared, beyond the same turns shuffled among the patches
       (their mean plus three standard deviations) and beyond the patches as they are, is at
       least :data:`SHARED_GAIN` of all the turned patches share (noise shares nothing).
    """
    core, around = part_guesses(xn, order)
    if _agreement(core, around, order) <= RIGID_AGREEMENT:
        return False
    guess = angle_guess(xn, basis, order, orders)
    coefficients, weights = angular_spectrum(xn)
    m = torch.arange(coefficients.shape[1])
    others, own = (m > 0) & (m != int(order)), m == int(order)
    still = torch.zeros_like(guess)
    if coherent_energy(coefficients, weights, guess, others) < coherent_energy(
        coefficients, weights, still, others
    ):
        return False
    half = (min(xn.shape[1:]) - 1) / 2
    inner = torch.arange(1, len(weights) + 1) < CORE_RADIUS * half

    def turned(index) -> float:
        return (
            coherent_energy(coefficients, weights, guess[index], others)
            + coherent_energy(coefficients[..., inner], weights[inner], around[index], own)
            + coherent_energy(coefficients[..., ~inner], weights[~inner], core[index], own)
        )

    generator = torch.Generator().manual_seed(0)
    shuffled = torch.tensor(
        [turned(torch.randperm(len(guess), generator=generator)) for _ in range(SHUFFLES)]
    )
    as_they_are = coherent_energy(coefficients, weights, still, m > 0)
    aligned = turned(torch.arange(len(guess)))
    gain = aligned - max(as_they_are, float(shuffled.mean())) - 3 * float(shuffled.std())
    return gain > SHARED_GAIN * aligned
