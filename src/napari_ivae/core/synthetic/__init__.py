"""Synthetic data with known ground truth, for tests, demos and benchmarks.

* :mod:`napari_ivae.core.synthetic.cards`: card-suit patches (clubs, spades, hearts,
  diamonds) under random rotation, shear, scale and translation; the published ss-rVAE splits.
* :mod:`napari_ivae.core.synthetic.lattice`: a noisy atomic lattice image with exact positions,
  domains and defects.
* :mod:`napari_ivae.core.synthetic.hrtem`: a phase-contrast (HRTEM) image of a lattice in
  physical units (CTF, partial coherence, dose, detector MTF) with exact positions.

Import the submodule you need; nothing heavy is imported here.
"""
