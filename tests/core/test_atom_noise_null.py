"""Nothing stands out from noise: the atoms' cut against the frame's own shuffled pixels."""

import numpy as np

from napari_ivae.core.detection.atom_frame import _null_contrasts
from napari_ivae.core.detection.atom_threshold import contrast_cut
from napari_ivae.core.detection.detections import empty_detections
from napari_ivae.core.detection.peaks import smoothed_noise
from napari_ivae.core.detection.quality import assess, suggests_particles

PARAMS = {"spacing": 8.0, "sigma": 0.8, "background": 4.0, "min_distance": 3.2}


def _cut(frame, shuffled):
    """The automatic cut and the candidates' contrasts, as the detector takes them (against
    the frame's shuffled pixels too when ``shuffled``)."""
    contrasts = np.asarray(_null_contrasts(frame, PARAMS), dtype=np.float64)
    cut = contrast_cut(
        contrasts,
        smoothed_noise(frame, 0.0),
        smoothed_noise(frame, PARAMS["sigma"]),
        float(frame.size),
        PARAMS,
        _null_contrasts,
        frame=frame if shuffled else None,
    )
    return cut, contrasts


def _hex_lattice(side=256, spacing=8.0, dose=2.0, seed=0):
    """Gaussian columns (sigma 1 px) on a hexagonal lattice, Poisson counts at ``dose``."""
    rows, cols = np.mgrid[0:side, 0:side].astype(np.float64)
    image = np.full((side, side), 0.2)
    a1, a2 = np.array([0.0, spacing]), np.array([spacing * np.sqrt(3) / 2, spacing / 2])
    for i in range(-side // 4, side // 4 + 2):
        for j in range(-2, side // 6 + 2):
            r, c = i * a1 + j * a2
            if -4 < r < side + 4 and -4 < c < side + 4:
                image += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / 2.0)
    return np.random.default_rng(seed).poisson(image * dose).astype(np.float32) / dose


def test_poisson_noise_of_two_counts_keeps_no_peak():
    frame = np.random.default_rng(2).poisson(2.0, (256, 256)).astype(np.float32)
    cut, contrasts = _cut(frame, True)
    assert np.count_nonzero(contrasts >= cut) == 0
    # the white-noise cut alone, which underrates low-count noise, keeps noise peaks
    cut_without, _ = _cut(frame, False)
    assert np.count_nonzero(contrasts >= cut_without) > 20


def test_a_lattice_at_low_dose_keeps_the_same_cut():
    frame = _hex_lattice()
    cut, contrasts = _cut(frame, True)
    assert cut == _cut(frame, False)[0]
    assert np.count_nonzero(contrasts >= cut) > 500


def test_a_lattice_across_a_tilted_step_keeps_the_same_cut():
    # an STM frame: terraces 40 x the columns' height apart; shuffled over the whole frame,
    # the step and the tilt became noise that drowned the columns
    frame = _hex_lattice(dose=20.0)
    rows, cols = np.mgrid[0 : frame.shape[0], 0 : frame.shape[1]]
    frame = frame + 40.0 * (cols > 0.4 * frame.shape[1] + 0.2 * rows) + 0.05 * rows
    cut, contrasts = _cut(frame, True)
    assert cut == _cut(frame, False)[0]
    assert np.count_nonzero(contrasts >= cut) > 500


def test_masked_pixels_stay_out_of_the_shuffle():
    # a frame of noise whose right half is a constant (padding): with the padding shuffled
    # in, the null would be mostly flat and every noise peak would stand out
    frame = np.random.default_rng(4).poisson(2.0, (256, 256)).astype(np.float32)
    frame[:, 128:] = 0.0
    masked = np.zeros(frame.shape, bool)
    masked[:, 128:] = True
    contrasts = np.asarray(_null_contrasts(frame, PARAMS), dtype=np.float64)
    noise = smoothed_noise(frame[:, :128], 0.0)
    cut = contrast_cut(
        contrasts, noise, noise, 128.0 * 256, PARAMS, _null_contrasts, frame=frame, masked=masked
    )
    assert np.count_nonzero(contrasts >= cut) == 0


def test_an_empty_result_below_the_cut_says_nothing_stands_out():
    counts = {
        "candidates": 900,
        "excluded": 0,
        "outside_crystal": 0,
        "below_threshold": 900,
    }
    params = {"threshold": "auto", "spacing": 5.0, "counts": counts}
    warnings = assess(empty_detections(params=params), "atoms")["warnings"]
    assert warnings and warnings[0].startswith("nothing stands out from the noise")
    assert suggests_particles(warnings)  # no atom at an automatic spacing: maybe particles
    given = {**params, "threshold": 30.0}  # the user's threshold: not a noise statement
    assert not assess(empty_detections(params=given), "atoms")["warnings"]


def test_atoms_wider_than_the_spacing_says_still_stand_out():
    # a spacing estimate of half the true one (a blob scale on a disordered film): at its
    # light smoothing the columns' peaks are as weak as the shuffled noise's, at twice the
    # scale they are not; the frame was called empty
    frame = _hex_lattice(dose=1.0)
    params = {"spacing": 4.0, "sigma": 0.4, "background": 2.0, "min_distance": 1.6}
    contrasts = np.asarray(_null_contrasts(frame, params), dtype=np.float64)
    noise = smoothed_noise(frame, 0.0)
    cut = contrast_cut(
        contrasts, noise, smoothed_noise(frame, 0.4), 65536.0, params, _null_contrasts, frame=frame
    )
    assert cut == contrast_cut(
        contrasts, noise, smoothed_noise(frame, 0.4), 65536.0, params, _null_contrasts
    )
    assert np.count_nonzero(contrasts >= cut) > 1000


def test_a_few_lone_atoms_among_noise_stand_out():
    # 25 atoms far apart on 200 x 200 px of noise: too few to outnumber the noise's peaks at
    # its median or 99th percentile, but the shuffled noise reaches none of their contrasts
    rng = np.random.default_rng(5)
    rows, cols = np.indices((200, 200))
    frame = rng.normal(0.0, 0.05, (200, 200))
    for r, c in rng.uniform(10, 190, (25, 2)):
        frame += np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * 2.0**2))
    frame = frame.astype(np.float32)
    params = {"spacing": 10.0, "sigma": 1.5, "background": 5.0, "min_distance": 4.0}
    contrasts = np.asarray(_null_contrasts(frame, params), dtype=np.float64)
    noise = smoothed_noise(frame, 0.0)
    cut = contrast_cut(
        contrasts, noise, smoothed_noise(frame, 1.5), 40000.0, params, _null_contrasts, frame=frame
    )
    assert np.count_nonzero(contrasts >= cut) >= 20


def test_detect_atoms_on_shot_noise_finds_nothing_and_says_why():
    """End to end: a frame of pure shot noise (2 counts a pixel) gave hundreds of atoms with
    the defaults; now none, and the message says nothing stood out from the noise."""
    from napari_ivae.core.detection.atoms import detect_atoms

    frame = np.random.default_rng(5).poisson(2.0, (384, 384)).astype(np.float32)
    found = detect_atoms(frame)
    assert len(found.coords) == 0
    assert "stands out from the noise" in found.message


def test_a_lone_atom_on_a_small_frame_is_kept():
    """One atom far above the noise on a 24 px frame is no count excess over the shuffled
    null, but no shuffle of the frame's pixels comes near it: it is kept (and only it)."""
    from napari_ivae.core.detection.atoms import detect_atoms

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:24, :24]
    image = rng.normal(0, 0.02, (24, 24)).astype(np.float32)
    image += np.exp(-((yy - 12.0) ** 2 + (xx - 12.0) ** 2) / 4.5).astype(np.float32)
    found = detect_atoms(image)
    assert len(found.coords) == 1
    np.testing.assert_allclose(found.coords[0, -2:], [12.0, 12.0], atol=0.5)


def test_three_atoms_among_shot_noise_are_kept_without_noise_points():
    yy, xx = np.mgrid[:256, :256]
    image = np.full((256, 256), 5.0)
    sites = [(60, 60), (128, 200), (200, 90)]
    for r, c in sites:
        image += 40 * np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 1.5**2))
    frame = np.random.default_rng(1).poisson(image).astype(np.float32)
    from napari_ivae.core.detection.atoms import detect_atoms

    found = detect_atoms(frame)
    assert len(found.coords) == 3
    assert np.abs(np.sort(found.coords[:, -2]) - [60, 128, 200]).max() < 1.0
