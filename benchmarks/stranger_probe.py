"""Default detection on a fourth stranger generator's scenes (lead16, h6).

``python benchmarks/stranger_probe.py [--seeds 0,1,2] [--only NAME,...]`` renders seeded
images of kinds that :mod:`stranger_atoms`, :mod:`stranger_particles`, :mod:`stranger_scenes`
and ``detection.py --robustness`` do not draw, with its own drawing (``probe_drawing.py``,
``probe_atoms.py``, ``probe_particles.py``: Poisson counts, probe blur, detector noise, exports).
Each is detected as the CLI would with no parameter but the mode a user would pick, and scored
by :mod:`stranger_scenes`'s rules (atoms: one-to-one within 0.35 x the truth's median
neighbour distance, F1 >= 0.90 passes; particles: within each particle's match radius, at least
3 px, precision and recall >= 0.95 pass). What counts as a reference is fixed per scene before
any detection (``rule`` in each row). A table, then one JSON line.

Atoms: MoS2 at low dose (S2 columns at 0.35-0.5 counted), a 2x bilinear export, a 64 x 64
crop, a 70 px square lattice, columns smeared by tilt, heavy columns beside light ones under
15 % (only the heavy counted), an RGB export with a burned-in label and scale bar, vacuum
holes in a 2D crystal; STM terraces with the lines aligned (``probe_terraces.py``: the blind
staircase without its line offsets, step heights of 1-3 monatomic steps up and down, sharp or
blurred, a single step, curved steps). Particles: SEM secondary electrons, an AFM height map
with tilt and line offsets, nanorods (counted once), log-normal radii 3-30 px, particles cut
by the frame, cryo-EM blobs in thick ice, bright-field optics with vignetting, fluorescence
over 2 decades.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from probe_atoms import ATOM_CASES  # noqa: E402
from probe_particles import PARTICLE_CASES  # noqa: E402
from probe_terraces import TERRACE_CASES  # noqa: E402
from scene_table import scene_row, scene_table  # noqa: E402
from stranger_scenes import score_scene  # noqa: E402

CASES = {**ATOM_CASES, **TERRACE_CASES, **PARTICLE_CASES}


def make(name: str, seed: int = 0) -> dict:
    """The scene ``name``, seeded by its name and ``seed``."""
    return CASES[name](np.random.default_rng([seed, 7, sum(map(ord, name))]))


def scored(case, points):
    """Score against the frame's 2D shape (an RGB scene's channels are not an axis)."""
    flat = dict(case, image=case["image"][..., 0] if case["image"].ndim == 3 else case["image"])
    return score_scene(flat, points)


def run(name: str, seed: int) -> dict:
    return scene_row(name, seed, make(name, seed), scored)


def main(argv=None) -> int:
    return scene_table(
        "stranger_probe", CASES, run, argv, width=28, description=__doc__.splitlines()[0]
    )


if __name__ == "__main__":
    sys.exit(main())
