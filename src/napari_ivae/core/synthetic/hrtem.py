"""A phase-contrast (HRTEM) image of an atomic lattice with exact ground truth.

Phase-contrast images are not Gaussian blobs on a background: the specimen shifts the phase of
the electron wave, the objective lens's contrast transfer function (CTF) turns that phase into
intensity, dark or bright by defocus, with Fresnel fringes at edges and holes and contrast
delocalised by the spherical aberration, and the image has a strong mean (the dose) with a
small modulation. This module follows that chain, in physical units with a pixel size:

1. **Projected potential as phase.** Each atom (column) is a Gaussian of phase with peak
   ``atom_phase`` radians and width ``atom_width_nm`` (thermal vibration included), at the
   sites of :mod:`~napari_ivae.core.synthetic.lattice`'s lattices (``honeycomb`` = graphene,
   ``perovskite`` = a perovskite [001] zone axis, ...): vacancies, substitutions
   (``dopants``, phase x ``dopant_phase``), a hole, two grains, and an amorphous carbon film
   (random carbon atoms of a given thickness) add to it.
2. **Object wave** ``exp(i phi)`` (or the weak-phase ``1 + i phi``).
3. **Objective lens** (Kirkland's convention, ``defocus`` > 0 is underfocus):
   ``chi(k) = pi lambda k^2 (Cs lambda^2 k^2 / 2 - defocus)``, the wave multiplied by
   ``exp(-i chi) A(k) E_s(k) E_t(k)``, the objective aperture ``A`` (``aperture_mrad``), the
   spatial-coherence envelope ``E_s = exp(-(pi alpha / lambda)^2 (Cs lambda^3 k^3 - defocus
   lambda k)^2)`` (``convergence_mrad``) and the temporal one ``E_t = exp(-(pi lambda Delta
   k^2)^2 / 2)`` (``focal_spread_nm``). In the weak-phase limit ``I = 1 + 2 phi * F^-1[sin chi]``:
   atoms are dark at Scherzer underfocus (:func:`scherzer_defocus`) and bright where
   ``sin chi > 0`` (overfocus).
4. **Intensity** ``|psi|^2`` times ``dose`` (electrons per pixel), Poisson counts, then the
   detector's MTF ``1 / (1 + (f / mtf_half)^2)`` (``f`` in cycles per pixel), which blurs
   signal and shot noise alike and keeps the mean.

The wave is computed on a frame padded by the lens's delocalisation (the FFT is periodic) and
cropped. A 512x512 image takes about 0.1 s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from napari_ivae.core.errors import InputError
from napari_ivae.core.synthetic.lattice import (
    _SYMMETRY_DEG,
    LATTICE_TYPES,
    _check_shape,
    _drop_boundary_clashes,
    _lattice_points,
    _nearest_seed,
    _render_atoms,
    _within,
)

# the nearest-atom distance (nm) of each lattice type's stand-in: graphene's C-C bond, a
# perovskite's A-B column distance (SrTiO3 [001]: a / sqrt 2), Si [110]'s dumbbell ...
BOND_NM = {
    "honeycomb": 0.142,
    "perovskite": 0.276,
    "square": 0.25,
    "hexagonal": 0.25,
    "dumbbell": 0.136,
}
# amorphous carbon: about 2 g/cm^3, 100 atoms per nm^3
_AMORPHOUS_ATOMS_PER_NM3 = 100.0


def wavelength_nm(kv: float) -> float:
    """Relativistic electron wavelength (nm) at ``kv`` kilovolts."""
    volts = 1e3 * float(kv)
    return 1.226426 / np.sqrt(volts * (1.0 + 0.978476e-6 * volts))


def scherzer_defocus(cs_mm: float, kv: float) -> float:
    """Scherzer's (extended) defocus ``sqrt(1.5 |Cs| lambda)`` in nm, underfocus (positive) for
    a positive Cs (dark atoms), overfocus (negative) for a negative one (bright atoms: negative
    Cs imaging)."""
    return float(np.sign(cs_mm) * np.sqrt(1.5 * abs(cs_mm) * 1e6 * wavelength_nm(kv)))


@dataclass
class HRTEMImage:
    """A simulated HRTEM image and its ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        ``(Y, X)`` float32 counts per pixel (mean about ``dose``; without a dose the noiseless
        intensity, mean about 1).
    positions : numpy.ndarray
        ``(N, 2)`` exact ``(row, col)`` of every atom (column) whose centre lies in the frame.
    species : numpy.ndarray
        ``(N,)`` int64: 0 host, 1 substitution (``dopants``), 2 the perovskite's B column.
    phase : numpy.ndarray
        ``(Y, X)`` the specimen's phase (rad), cropped like ``image``.
    params : dict
        Every parameter, resolved defaults included, plus ``wavelength_nm``, ``spacing_px``
        (the nearest-atom distance in pixels), ``scherzer_nm`` and ``domain_angles``.
    """

    image: np.ndarray
    positions: np.ndarray
    species: np.ndarray
    phase: np.ndarray
    params: dict = field(default_factory=dict)


def make_hrtem(
    shape=(256, 256),
    *,
    lattice: str = "honeycomb",
    pixel_size_nm: float = 0.015,
    bond_nm: float | None = None,
    atom_phase: float = 0.1,
    atom_width_nm: float = 0.035,
    sublattice_phase: float = 0.5,
    kv: float = 80.0,
    cs_mm: float = 0.02,
    defocus_nm: float | str = "scherzer",
    focal_spread_nm: float = 1.0,
    convergence_mrad: float = 0.1,
    aperture_mrad: float | None = None,
    weak_phase: bool = False,
    dose: float | None = 1000.0,
    mtf_half: float | None = 0.25,
    vacancies: float = 0.0,
    dopants: float = 0.0,
    dopant_phase: float = 3.0,
    hole_radius_nm: float = 0.0,
    domains: int = 1,
    domain_angles=None,
    rotation: float = 0.0,
    amorphous_nm: float = 0.0,
    seed: int = 0,
) -> HRTEMImage:
    """Simulate an HRTEM image of a lattice (see the module docstring for the physics).

    Parameters
    ----------
    shape : int or (int, int)
        Image size ``(Y, X)`` in pixels.
    lattice : str
        One of :data:`~napari_ivae.core.synthetic.lattice.LATTICE_TYPES`; ``"honeycomb"`` is
        graphene, ``"perovskite"`` a perovskite [001] projection (B column phase
        ``sublattice_phase`` x the A column's).
    pixel_size_nm : float
        Sampling (nm per pixel).
    bond_nm : float, optional
        Nearest-atom (column) distance in nm; default :data:`BOND_NM` of the lattice.
    atom_phase : float
        Peak phase shift (rad) of one atom or column: about 0.1 for a carbon atom at 80 kV,
        0.5-1.5 for a heavy column a few nm thick.
    atom_width_nm : float
        Gaussian width (sigma, nm) of an atom's projected potential.
    sublattice_phase : float
        The perovskite's B column phase relative to the A column's.
    kv, cs_mm : float
        Accelerating voltage (kV) and spherical aberration (mm; aberration-corrected
        instruments: a few tens of micrometres, either sign).
    defocus_nm : float or "scherzer"
        Defocus in nm, positive = underfocus (Kirkland); ``"scherzer"``: :func:`scherzer_defocus`.
    focal_spread_nm : float
        Defocus spread (temporal coherence, nm); 0 for none.
    convergence_mrad : float
        Illumination semi-angle (spatial coherence, mrad); 0 for none.
    aperture_mrad : float, optional
        Objective aperture semi-angle (mrad); default none (only the sampling's Nyquist limit).
    weak_phase : bool
        Use ``1 + i phi`` instead of ``exp(i phi)``.
    dose : float, optional
        Electrons per pixel; Poisson counts. ``None``: noiseless intensity (mean about 1).
    mtf_half : float, optional
        Detector MTF ``1 / (1 + (f / mtf_half)^2)``, ``f`` in cycles per pixel; ``None`` for
        a perfect detector.
    vacancies, dopants : float
        Fractions of sites left empty / holding a heavier atom (phase x ``dopant_phase``).
    hole_radius_nm : float
        A hole (no lattice) of this radius at the image centre (edge: Fresnel fringes).
    domains, domain_angles, rotation
        Grains (Voronoi regions) and their orientations in degrees, as in ``make_lattice``.
    amorphous_nm : float
        Thickness (nm) of an amorphous carbon film under everything (random carbon atoms, 100
        per nm^3, each of phase ``0.1`` rad at 80 kV scaled by the wavelength).
    seed : int
        Random seed.

    Returns
    -------
    HRTEMImage
    """
    height, width = _check_shape(shape)
    if lattice not in LATTICE_TYPES:
        raise InputError(f"lattice={lattice!r} is not known; use one of {LATTICE_TYPES}.")
    for name, value in (
        ("pixel_size_nm", pixel_size_nm),
        ("kv", kv),
        ("atom_width_nm", atom_width_nm),
    ):
        if not value > 0:
            raise InputError(f"{name} must be positive, got {value}.")
    for name, value in (("vacancies", vacancies), ("dopants", dopants)):
        if not 0 <= value < 1:
            raise InputError(f"{name} is a fraction in [0, 1), got {value}.")
    if dose is not None and not dose > 0:
        raise InputError(f"dose must be positive, got {dose}.")
    if int(domains) != domains or domains < 1:
        raise InputError(f"domains must be a positive integer, got {domains}.")
    rng = np.random.default_rng(seed)
    lam = wavelength_nm(kv)
    bond = float(BOND_NM[lattice] if bond_nm is None else bond_nm)
    spacing = bond / pixel_size_nm
    if spacing < 2:
        raise InputError(f"the atoms are {spacing:.2f} px apart; use a smaller pixel_size_nm.")
    scherzer = scherzer_defocus(cs_mm, kv)
    defocus = scherzer if defocus_nm == "scherzer" else float(defocus_nm)
    cs_nm = float(cs_mm) * 1e6

    # padding: the lens moves contrast by up to lambda |d chi / dk| / 2 pi = |Cs lambda^3 k^3 -
    # defocus lambda k| within the passband the envelopes leave (above 1 %); the periodic FFT
    # wraps what crosses the edge
    k_nyquist = 0.5 / pixel_size_nm
    k_max = k_nyquist if aperture_mrad is None else min(k_nyquist, 1e-3 * aperture_mrad / lam)
    ks = np.linspace(0.0, k_max, 512)
    shift = np.abs(cs_nm * lam**3 * ks**3 - defocus * lam * ks)
    envelope = _envelope(ks, shift, lam, convergence_mrad, focal_spread_nm)
    reach_nm = float(np.max(shift[envelope > 0.01], initial=0.0))
    pad = int(min(16 + np.ceil(2 * reach_nm / pixel_size_nm), 4 * max(height, width)))
    full_h, full_w = _fast_length(height + 2 * pad), _fast_length(width + 2 * pad)
    top, left = (full_h - height) // 2, (full_w - width) // 2

    sigma_px = atom_width_nm / pixel_size_nm
    sites, heights, species = _sites(
        full_h, full_w, spacing, lattice, sublattice_phase, domains, domain_angles, rotation, rng
    )
    frame_centre = np.array([top + height / 2.0, left + width / 2.0])
    if hole_radius_nm > 0:
        outside_hole = np.hypot(*(sites - frame_centre).T) > hole_radius_nm / pixel_size_nm
        sites, heights, species = sites[outside_hole], heights[outside_hole], species[outside_hole]
    vacant = rng.random(len(sites)) < vacancies
    sites, heights, species = sites[~vacant], heights[~vacant], species[~vacant]
    doped = rng.random(len(sites)) < dopants
    heights = np.where(doped, dopant_phase * heights, heights)
    species = np.where(doped, 1, species)

    phase = np.zeros((full_h, full_w), dtype=np.float64)
    _render_atoms(phase, sites, atom_phase * heights, sigma_px, 0.0, np.zeros(len(sites)))
    if amorphous_nm > 0:
        count = rng.poisson(
            _AMORPHOUS_ATOMS_PER_NM3 * amorphous_nm * full_h * full_w * pixel_size_nm**2
        )
        carbon = rng.uniform([0, 0], [full_h, full_w], size=(count, 2))
        carbon_phase = 0.1 * lam / wavelength_nm(80.0)
        _render_atoms(phase, carbon, np.full(count, carbon_phase), sigma_px, 0.0, np.zeros(count))

    wave = 1.0 + 1j * phase if weak_phase else np.exp(1j * phase)
    ky = np.fft.fftfreq(full_h, d=pixel_size_nm)[:, None]
    kx = np.fft.fftfreq(full_w, d=pixel_size_nm)[None, :]
    k2 = ky**2 + kx**2
    k = np.sqrt(k2)
    chi = np.pi * lam * k2 * (0.5 * cs_nm * lam**2 * k2 - defocus)
    transfer = np.exp(-1j * chi)
    transfer *= _envelope(
        k, cs_nm * lam**3 * k**3 - defocus * lam * k, lam, convergence_mrad, focal_spread_nm
    )
    if aperture_mrad is not None:
        transfer *= k <= 1e-3 * aperture_mrad / lam
    intensity = np.abs(np.fft.ifft2(np.fft.fft2(wave) * transfer)) ** 2

    counts = intensity if dose is None else rng.poisson(intensity * dose).astype(np.float64)
    if mtf_half is not None:
        fy = np.fft.fftfreq(full_h)[:, None]
        fx = np.fft.rfftfreq(full_w)[None, :]
        mtf = 1.0 / (1.0 + (fy**2 + fx**2) / float(mtf_half) ** 2)
        counts = np.fft.irfft2(np.fft.rfft2(counts) * mtf, s=counts.shape)
    image = counts[top : top + height, left : left + width]

    local = sites - np.array([top, left])
    inside = _within(local, height, width)
    params = dict(
        shape=(height, width),
        lattice=lattice,
        pixel_size_nm=float(pixel_size_nm),
        bond_nm=bond,
        atom_phase=float(atom_phase),
        atom_width_nm=float(atom_width_nm),
        sublattice_phase=float(sublattice_phase),
        kv=float(kv),
        cs_mm=float(cs_mm),
        defocus_nm=float(defocus),
        focal_spread_nm=float(focal_spread_nm),
        convergence_mrad=float(convergence_mrad),
        aperture_mrad=aperture_mrad,
        weak_phase=bool(weak_phase),
        dose=dose,
        mtf_half=mtf_half,
        vacancies=float(vacancies),
        dopants=float(dopants),
        dopant_phase=float(dopant_phase),
        hole_radius_nm=float(hole_radius_nm),
        domains=int(domains),
        rotation=float(rotation),
        amorphous_nm=float(amorphous_nm),
        seed=seed,
        wavelength_nm=lam,
        spacing_px=spacing,
        scherzer_nm=scherzer,
        pad_px=pad,
    )
    return HRTEMImage(
        image=np.ascontiguousarray(image, dtype=np.float32),
        positions=local[inside].astype(np.float64),
        species=species[inside].astype(np.int64),
        phase=np.ascontiguousarray(phase[top : top + height, left : left + width]),
        params=params,
    )


def _envelope(k, shift, lam, convergence_mrad, focal_spread_nm):
    """Partial coherence: the spatial envelope (``shift`` = ``Cs lambda^3 k^3 - defocus lambda
    k``, nm) times the temporal one."""
    alpha = 1e-3 * float(convergence_mrad)
    return np.exp(
        -((np.pi * alpha / lam) ** 2) * shift**2
        - 0.5 * (np.pi * lam * float(focal_spread_nm) * k**2) ** 2
    )


def _sites(
    height, width, spacing, lattice, sublattice_phase, domains, domain_angles, rotation, rng
):
    """Sites over the whole (padded) frame, their relative phase and species (2 = B column)."""
    symmetry = _SYMMETRY_DEG[lattice]
    if domain_angles is None:
        angles = [rotation + d * symmetry / (2 * domains) for d in range(domains)]
    else:
        angles = [float(a) for a in domain_angles]
        if len(angles) != domains:
            raise InputError(f"domain_angles has {len(angles)} entries for {domains} domains.")
    seeds = rng.uniform([0, 0], [height, width], size=(domains, 2))
    parts, heights, owners = [], [], []
    for d, angle in enumerate(angles):
        points, relative = _lattice_points(
            height, width, 0.0, spacing, lattice, np.deg2rad(angle), sublattice_phase, rng
        )
        owner = _nearest_seed(points, seeds)
        parts.append(points[owner == d])
        heights.append(relative[owner == d])
        owners.append(np.full(int((owner == d).sum()), d, dtype=np.int64))
    sites, relative, owner = np.concatenate(parts), np.concatenate(heights), np.concatenate(owners)
    keep = _drop_boundary_clashes(sites, owner, 0.7 * spacing)
    sites, relative = sites[keep], relative[keep]
    species = np.zeros(len(sites), dtype=np.int64)
    if lattice == "perovskite":
        species[relative != 1.0] = 2
    return sites, relative, species


def _fast_length(n: int) -> int:
    """The smallest length >= n whose only prime factors are 2, 3 and 5."""
    while True:
        m = n
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return n
        n += 1
