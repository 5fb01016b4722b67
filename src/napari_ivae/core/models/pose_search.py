"""A patch's angle found against class templates aligned from the labeled patches.

Why (ss-rVAE, docs/performance.md): the classifier reads each patch turned back by the
encoder's angle, so a card whose angle is mis-encoded is misclassified, and on some seeds the
encoder learnt the angle of many cards beyond about 40 deg wrongly. The labeled patches already
show what each class looks like; a matched filter against them, turned over the full circle,
finds a patch's angle without any training. The ss-rVAE adds that angle to the encoder's, which
then only learns a correction (as ``pose.angle_guess`` does for the rVAE with angular moments).

Conventions (those of :mod:`napari_ivae.core.models.latent`): a patch that is template ``T``
turned by ``theta`` is ``canonical_resample(T, -theta)``, and ``canonical_resample(patch,
theta)`` brings it back to ``T``; the angle found is that ``theta``.

* :func:`align_class` builds one class's template from its labeled patches without assuming
  their pose: each patch is centred on its centroid, the template starts at the patch most
  like the others (over all rotations) and is re-averaged from the patches turned back by
  their best angles, a few rounds. Its frame is then turned so that the labeled patches' mean
  angle is 0 (on the papers' cards, labeled cards within +/-4 deg: the upright card).
* Patches are compared centred on their own (smoothed, thresholded) centroids
  (:func:`centred`), so the angle found depends on the patch alone, not on the encoder's
  offsets: centred by the offsets a half-trained encoder gives, or at the template's drawing
  centre rather than its centroid, a heart matched the spade template turned by 180 deg (a
  training run of seed 0 called 1 674 of 3 000 test hearts spades). The angle of a turn does
  not depend on the point it is taken about.
* :func:`symmetry_order` finds a template's rotational symmetry (a diamond turned by 180 deg
  is itself): its angle is then only known modulo ``2 pi / m``, and the angle found is taken
  within ``(-pi / m, pi / m]``, so that the two branches give one angle.
* :func:`turned_bank` and :func:`best_angles`: the search itself, every class's template
  turned by ``N_ANGLES`` angles, one matrix product per batch, the peak refined by a parabola.
"""

from __future__ import annotations

import math

import torch

from napari_ivae.core.models.latent import canonical_resample, pixel_grid

#: angles searched over the full circle (3 deg apart; the peak is refined between them)
N_ANGLES = 120
#: a template is ``m``-fold symmetric when turned by ``2 pi / m`` it correlates this close to
#: itself, relative to its least correlation at any turn (:func:`symmetry_order`)
SYMMETRY_THRESHOLD = 0.9
#: candidate orders of symmetry, largest first
SYMMETRY_ORDERS = (6, 4, 3, 2)


def search_angles(n: int = N_ANGLES, device=None, dtype=torch.float32) -> torch.Tensor:
    """``n`` angles evenly over the circle, from ``-pi`` (radians)."""
    return torch.arange(n, device=device, dtype=dtype) * (2 * math.pi / n) - math.pi


def wrap(angle: torch.Tensor, order=1) -> torch.Tensor:
    """``angle`` modulo ``2 pi / order``, in ``(-pi / order, pi / order]``."""
    m = torch.as_tensor(order, device=angle.device, dtype=angle.dtype)
    return torch.atan2(torch.sin(angle * m), torch.cos(angle * m)) / m


def background_removed(xn: torch.Tensor) -> torch.Tensor:
    """Patches ``(B, H, W)`` less each patch's median (the background): 0 outside the shape,
    as the zeros that resampling brings in from beyond the patch's edge."""
    return xn - xn.flatten(1).median(1).values[:, None, None]


def centroids(xc: torch.Tensor, blur: float = 1.5) -> torch.Tensor:
    """``(B, 2)`` centres ``(x, y)`` (half-width units) of background-free patches ``(B, H, W)``.

    Each patch is smoothed (Gaussian, ``blur`` pixels) and weighted by ``|value|`` above three
    robust standard deviations of its smoothed values (bright or dark shapes alike; on a
    noisy patch the background's noise would otherwise pull the centre to the middle; on a
    clean one the threshold is 0)."""
    h, w = xc.shape[1:]
    radius = max(int(math.ceil(3 * blur)), 1)
    taps = torch.arange(-radius, radius + 1, device=xc.device, dtype=xc.dtype)
    kernel = torch.exp(-(taps**2) / (2 * blur**2))
    kernel = kernel / kernel.sum()
    smooth = torch.nn.functional.conv2d(
        xc[:, None], kernel.reshape(1, 1, 1, -1), padding=(0, radius)
    )
    smooth = torch.nn.functional.conv2d(smooth, kernel.reshape(1, 1, -1, 1), padding=(radius, 0))
    flat = smooth.flatten(1)
    spread = 1.4826 * (flat - flat.median(1, keepdim=True).values).abs().median(1).values
    weight = (flat.abs() - 3 * spread[:, None]).clamp_min(0)
    grid = pixel_grid((h, w), device=xc.device).to(xc.dtype)
    return (weight @ grid) / weight.sum(1, keepdim=True).clamp_min(1e-12)


def unit_rows(flat: torch.Tensor) -> torch.Tensor:
    """Each row (last axis) of ``flat`` less its mean and of unit norm (a constant row gives
    zeros): the form in which a patch's dot product with a template is their correlation."""
    flat = flat - flat.mean(-1, keepdim=True)
    return flat / flat.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def turned_bank(templates: torch.Tensor, n_angles: int = N_ANGLES) -> torch.Tensor:
    """Templates ``(K, H, W)`` turned by each of :func:`search_angles`: ``(K, A, H * W)``,
    each row less its mean and of unit norm (a zero template gives zero rows)."""
    k, h, w = templates.shape
    angles = search_angles(n_angles, templates.device, templates.dtype)
    stack = templates[:, None].expand(k, n_angles, h, w).reshape(k * n_angles, h, w)
    turned = canonical_resample(stack, -angles.repeat(k)).reshape(k, n_angles, h * w)
    return unit_rows(turned)


def best_angles(flat: torch.Tensor, bank: torch.Tensor, orders=None):
    """The best-matching class and angle of each patch.

    Parameters
    ----------
    flat : (B, P) tensor
        Background-free patches, centred where the templates' origin is, flattened.
    bank : (K, A, P) tensor
        :func:`turned_bank` of the templates.
    orders : (K,) long tensor or None
        Each template's :func:`symmetry_order` (the angle is given within ``(-pi/m, pi/m]``).

    Returns
    -------
    angle : (B,) tensor (radians), cls : (B,) long tensor, score : (B,) tensor (correlation
    with the unit-norm template; the patch's own norm is not divided out).
    """
    k, a, p = bank.shape
    corr = (flat @ bank.reshape(k * a, p).T).reshape(-1, k, a)
    score, index = corr.flatten(1).max(1)
    cls, step = index // a, index % a
    rows = corr[torch.arange(len(flat), device=flat.device), cls]  # (B, A)
    left = rows.gather(1, ((step - 1) % a)[:, None])[:, 0]
    right = rows.gather(1, ((step + 1) % a)[:, None])[:, 0]
    curve = left - 2 * score + right
    shift = torch.where(
        curve < 0, 0.5 * (left - right) / curve.clamp_max(-1e-12), torch.zeros_like(curve)
    ).clamp(-0.5, 0.5)
    angle = search_angles(a, flat.device, flat.dtype)[step] + shift * (2 * math.pi / a)
    order = 1 if orders is None else orders.to(flat.device)[cls].to(flat.dtype)
    return wrap(angle, order), cls, score


def symmetry_order(template: torch.Tensor, threshold: float = SYMMETRY_THRESHOLD) -> int:
    """Rotational symmetry order of a template ``(H, W)``: the largest ``m`` of
    :data:`SYMMETRY_ORDERS` at which the template turned by ``2 pi / m`` correlates with
    itself (within the inscribed disc) nearly as well as unturned, else 1.

    "Nearly" is measured against the template's own profile ``c(phi)`` over the full circle:
    a filled shape correlates highly with itself at every angle (cards: 0.75-0.86 at any
    turn), so the score is ``(c(2 pi / m) - min c) / (1 - min c)``, at least ``threshold``
    (a diamond's 180 deg: 1.0; a club's 120 deg: about 0.4)."""
    grid = pixel_grid(template.shape, device=template.device)
    disc = (grid.square().sum(1) <= 1.0).to(template.dtype)

    def unit(images):
        flat = images.flatten(1) * disc
        flat = flat - (flat.sum(1, keepdim=True) / disc.sum()) * disc
        return flat / flat.norm(dim=1, keepdim=True).clamp_min(1e-12)

    circle = search_angles(N_ANGLES, template.device, template.dtype)
    turns = torch.tensor([2 * math.pi / m for m in SYMMETRY_ORDERS], dtype=template.dtype)
    angles = torch.cat([turns.to(template.device), circle])
    turned = canonical_resample(template[None].expand(len(angles), -1, -1), angles)
    corr = unit(turned) @ unit(template[None])[0]
    low = float(corr[len(turns) :].min())
    for m, c in zip(SYMMETRY_ORDERS, corr[: len(turns)].tolist()):
        if (c - low) >= threshold * max(1.0 - low, 1e-6):
            return m
    return 1


def align_class(
    xn: torch.Tensor, rounds: int = 4, candidates: int = 16, n_angles: int = N_ANGLES
) -> tuple[torch.Tensor, int]:
    """One class's template from its labeled patches ``(n, H, W)`` (normalised), at any poses.

    Each patch is centred on its :func:`centroids`; the template starts at the one of
    ``candidates`` patches that matches the others best over all rotations (a mean of patches
    at different poses is a blurred disc that matches every angle alike), then ``rounds``
    times: every patch's best angle against the template (full circle), and the template the
    mean of the patches turned back by theirs. The frame is then turned so that the patches'
    mean angle (modulo the template's symmetry) is 0. Returns the template (background-free,
    centroid at the origin) and its :func:`symmetry_order`.
    """
    xc = centred(xn)
    flat = xc.flatten(1)
    flat = flat - flat.mean(1, keepdim=True)
    pick = torch.linspace(0, len(xc) - 1, min(len(xc), candidates)).round().long()
    bank = turned_bank(xc[pick], n_angles)  # (C, A, P)
    c, a, p = bank.shape
    corr = (flat @ bank.reshape(c * a, p).T).reshape(len(xc), c, a).amax(-1)
    template = xc[pick[int(corr.mean(0).argmax())]]
    angle = torch.zeros(len(xc), dtype=xn.dtype, device=xn.device)
    for _ in range(max(int(rounds), 1)):
        angle, _, _ = best_angles(flat, turned_bank(template[None], n_angles))
        template = canonical_resample(xc, angle).mean(0)
    order = symmetry_order(template)
    mean_angle = torch.atan2(torch.sin(order * angle).mean(), torch.cos(order * angle).mean())
    return canonical_resample(xc, angle - mean_angle / order).mean(0), order


def store_templates(templates: torch.Tensor, orders: torch.Tensor, class_patches) -> None:
    """Fill a model's ``pose_templates`` ``(K, H, W)`` and ``pose_orders`` ``(K,)`` buffers in
    place: class ``k``'s template and symmetry order from :func:`align_class` of
    ``class_patches[k]`` (normalised ``(n, H, W)``), or 0 (no template) where it is None."""
    for k, xn in enumerate(class_patches):
        if xn is None:
            templates[k].zero_()
            orders[k] = 0
            continue
        template, order = align_class(xn)
        templates[k] = template.to(templates)
        orders[k] = order


def centred(xn: torch.Tensor) -> torch.Tensor:
    """Normalised patches ``(B, H, W)`` less their background, moved so that their
    :func:`centroids` lie at the origin, as :func:`align_class` centres the labeled ones."""
    return centring(xn)[0]


def centring(xn: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(centred(xn), centre)``: the patches of :func:`centred` and the :func:`centroids`
    ``(B, 2)`` they were moved by."""
    xc = background_removed(xn)
    centre = centroids(xc)
    return canonical_resample(xc, None, centre), centre


def group_shapes(xn: torch.Tensor, max_groups: int = 8, rounds: int = 6) -> torch.Tensor:
    """Patches ``(N, H, W)`` (normalised) grouped by shape whatever their pose: k-means in
    which a patch's distance to a group is its best correlation with the group's template
    turned over the full circle (:func:`best_angles`), each patch compared centred on its
    centroid (:func:`centred`). Returns each patch's group ``(N,)`` (long, ``0..G-1``).

    The groups start at the most typical patch, then at the patch least like any group so far,
    up to ``max_groups``; each round every patch joins its best group and each template
    becomes its members turned back by their angles. Groups whose templates match each other
    (at their best turn) at least as well as their own members match them are then merged:
    one shape split in two is one group again, so a group is a shape, not a pose (two groups
    of one shape would be aligned in two frames). Used by the rVAE for its own pose templates
    (:meth:`napari_ivae.core.models.rvae.RVAE.fit_own_templates`).
    """
    xc = centred(xn)
    unit = unit_rows(xc.flatten(1))
    n, p = unit.shape
    pick = torch.linspace(0, n - 1, min(n, 32)).round().long()
    bank = turned_bank(xc[pick])
    corr = (unit @ bank.reshape(-1, p).T).reshape(n, len(pick), -1).amax(-1)
    chosen = [int(pick[int(corr.mean(0).argmax())])]
    best: torch.Tensor | None = None
    while len(chosen) < min(int(max_groups), n):
        score = (unit @ turned_bank(xc[chosen[-1:]]).reshape(-1, p).T).amax(-1)
        best = score if best is None else torch.maximum(best, score)
        chosen.append(int(best.argmin()))
    templates = xc[chosen].clone()

    def assign(templates):
        angle, group, score = best_angles(unit, turned_bank(templates))
        for j in range(len(templates)):
            members = group == j
            if members.any():
                templates[j] = canonical_resample(xc[members], angle[members]).mean(0)
        return group, score

    for _ in range(max(int(rounds), 1)):
        group, score = assign(templates)
    while len(templates) > 1:
        used = torch.unique(group)
        templates = templates[used]
        group = torch.searchsorted(used, group)
        own = torch.stack([score[group == j].median() for j in range(len(templates))])
        t = unit_rows(templates.flatten(1))
        k = len(templates)
        cross = (t @ turned_bank(templates).reshape(k * N_ANGLES, -1).T).reshape(k, k, -1)
        cross = cross.amax(-1)
        cross.fill_diagonal_(-2.0)
        i, j = divmod(int(cross.argmax()), k)
        if float(cross[i, j]) < float(torch.minimum(own[i], own[j])):
            break
        keep = [m for m in range(k) if m != j]
        group = torch.where(group == j, torch.full_like(group, i), group)
        templates = templates[keep]
        group = torch.searchsorted(torch.tensor(keep, device=group.device), group)
        for _ in range(2):
            group, score = assign(templates)
    return group
