"""The robustness benchmark's dense layer ("n400 r7"), clean or at low dose, and its sparse
low-dose image ("n150 r6 low dose")."""

from napari_ivae.core.synthetic.particles import make_particles


def dense_layer(seed, polarity="dark", low_dose=False):
    """400 particles of radius 7 on 384 px, 60 % of them touching a neighbour: clean (noise
    0.05, texture 0.03) or at low dose (15 counts a pixel, 8 % texture, illumination uneven by
    30 %), as the robustness benchmark draws them."""
    if low_dose:
        condition = dict(noise=0.0, dose=15, texture=0.08, illumination=0.3)
    else:
        condition = dict(noise=0.05, texture=0.03)
    return make_particles(
        384,
        count=400,
        radius=7,
        polarity=polarity,
        touching=0.6,
        contrast=0.6,
        seed=seed,
        **condition,
    )


def sparse_low_dose(polarity, seed):
    """150 particles of radius 6 on 384 px at 15 counts a pixel, 8 % texture, illumination
    uneven by 30 %, 30 % of them touching a neighbour: the robustness benchmark's "n150 r6 low
    dose"."""
    return make_particles(
        384,
        count=150,
        radius=6,
        polarity=polarity,
        touching=0.3,
        contrast=0.6,
        noise=0.0,
        dose=15,
        texture=0.08,
        illumination=0.3,
        seed=seed,
    )
