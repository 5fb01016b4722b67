"""The faster scale space and radial profiles give bit for bit what their plain forms give."""

import numpy as np
import pytest

from napari_ivae.core.detection import particle_profiles
from napari_ivae.core.detection.particle_scale_space import scale_space


def _plain_scale_space(frame, scales):
    """``-sigma^2 LoG`` by ``irfft2`` of the whole filtered spectrum, in float32."""
    from scipy import fft

    pad = int(np.ceil(4.0 * max(scales)))
    shape = [fft.next_fast_len(n + 2 * pad, real=True) for n in frame.shape]
    padded = np.pad(
        np.asarray(frame, dtype=np.float32),
        [(pad, size - n - pad) for n, size in zip(frame.shape, shape)],
        mode="symmetric",
    )
    spectrum = fft.rfft2(padded, workers=1)
    freq_sq = (fft.fftfreq(shape[0])[:, None] ** 2 + fft.rfftfreq(shape[1])[None, :] ** 2).astype(
        np.float32
    )
    layers = []
    for sigma in map(float, scales):
        transfer = (
            (4.0 * np.pi**2 * sigma**2) * freq_sq * np.exp(-2.0 * np.pi**2 * sigma**2 * freq_sq)
        )
        response = fft.irfft2(spectrum * transfer, shape, workers=1)
        layers.append(response[pad : pad + frame.shape[0], pad : pad + frame.shape[1]])
    return np.array(layers, dtype=np.float32)


@pytest.mark.parametrize("shape", [(40, 52), (9, 130), (128, 96)])
def test_scale_space_where_the_transfer_underflows_is_the_plain_formula(shape):
    # at large scales the transfer is 0 beyond a few columns of the spectrum: those columns
    # are not transformed, and the response is the same to the bit
    rng = np.random.default_rng(shape[1])
    frame = (1000.0 + 30.0 * rng.standard_normal(shape)).astype(np.float32)
    for scales in (np.array([6.0, 12.5, 20.0, 31.0]), [14.0, 40.0], np.float32([9.0, 25.0])):
        fast, plain = scale_space(frame, scales), _plain_scale_space(frame, scales)
        assert fast.dtype == np.float32 and fast.shape == plain.shape
        assert fast.tobytes() == plain.tobytes()


@pytest.mark.parametrize("seed", range(6))
def test_stably_ordered_is_a_stable_sort_also_where_keys_tie(seed):
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((7, 300))
    # few distinct keys: many ties holding different values, in every row
    key = np.floor(rng.random((7, 300)) * (3 + seed)) + np.where(rng.random((7, 300)) < 0.3, 0.5, 0)
    beyond = key.max() + (0.0 if seed % 2 else 1.0)  # odd seeds: the top key is "not counted"
    key[:, ::11] = beyond
    ordered = particle_profiles._stably_ordered(values, key, beyond)
    stable = np.take_along_axis(values, np.argsort(key, axis=1, kind="stable"), axis=1)
    below = np.sort(key, axis=1) < beyond  # from the first "not counted" key on: any order
    assert np.array_equal(ordered[below], stable[below])


def test_masked_sums_are_those_of_the_flattened_squares():
    rng = np.random.default_rng(3)
    blobs, side = 5, 9
    along_y = rng.standard_normal((blobs, side, 1))
    part = rng.random((blobs, side * side)) < 0.6
    square = (blobs, side, side)
    flat_y = np.broadcast_to(along_y, square).reshape(blobs, -1)
    summed = particle_profiles._masked_sum(along_y, part, square)
    assert summed.tobytes() == (flat_y * part).sum(axis=1).tobytes()
