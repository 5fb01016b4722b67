"""The scale-normalised Laplacian of Gaussian over a range of scales, by one Fourier transform.

:func:`scale_space` is the response ``-sigma^2 LoG`` (bright blobs positive) of a frame at every
scale of a list (:func:`scale_responses` one scale at a time), the particle search's scale space
(:mod:`~napari_ivae.core.detection.particle_blobs`); :func:`blob_scales` the scales searched for
a frame of a given shape.
"""

from __future__ import annotations

import numpy as np

SCALES = 16  # scales searched, geometrically from 1 px to a sixteenth of the frame
UNDERFLOW = -800.0  # exp of less is 0 (in float32 from -104 on): the transfer is 0 there


def blob_scales(shape) -> np.ndarray:
    """The scales searched for a frame of this shape: 1 px to a sixteenth of its smaller side."""
    return np.geomspace(1.0, max(1.5, min(shape) / 16.0), SCALES)


def scale_space(frame: np.ndarray, scales) -> np.ndarray:
    """``(scales, Y, X)`` responses ``-sigma^2 LoG`` (bright blobs positive), as
    :func:`scale_responses` gives them one scale at a time."""
    frame = np.asarray(frame, dtype=np.float32)
    out = np.empty((len(scales), *frame.shape), dtype=np.float32)
    for _ in scale_responses(frame, scales, out):
        pass
    return out


def scale_responses(frame: np.ndarray, scales, out: np.ndarray | None = None):
    """The responses ``-sigma^2 LoG`` (bright blobs positive) of ``frame`` at each of
    ``scales``, one ``(Y, X)`` float32 array at a time (``out[index]`` where ``out`` is given):
    a large frame's whole scale space need not be held at once.

    One Fourier transform of the frame (mirrored at its edges, as ``ndimage`` does) serves
    every scale: ``-sigma^2 LoG`` is ``4 pi^2 sigma^2 |f|^2 exp(-2 pi^2 sigma^2 |f|^2)`` there.
    The transforms are in float32 (complex64), as the frame's own spectrum is: the response
    differs from float64 transforms' by about 3e-7 of its largest value, and float64 inverse
    transforms took 1.7 x the time.
    """
    from scipy import fft

    frame = np.asarray(frame, dtype=np.float32)
    height, width = frame.shape
    pad = int(np.ceil(4.0 * max(scales)))
    padded_shape = [fft.next_fast_len(n + 2 * pad, real=True) for n in frame.shape]
    padded = np.pad(
        frame,
        [(pad, size - n - pad) for n, size in zip(frame.shape, padded_shape)],
        mode="symmetric",
    )
    spectrum = fft.rfft2(padded, workers=1)
    del padded
    # rows k and n - k have the same |f|^2: the transfer is computed on rows 0 ... n / 2 only
    half = padded_shape[0] // 2 + 1
    mirrored = slice(padded_shape[0] - half, 0, -1)  # rows half ... n - 1 as rows of the half
    freq_sq = (
        fft.fftfreq(padded_shape[0])[:half, None] ** 2 + fft.rfftfreq(padded_shape[1])[None, :] ** 2
    ).astype(np.float32)
    size = padded_shape[0] * padded_shape[1]
    buffers = _Buffers(spectrum, freq_sq, half, mirrored)
    for index, sigma in enumerate(scales):
        filtered, used = buffers.filtered(float(sigma))
        # irfft2 as pocketfft computes it (the columns' inverse transform, then the rows'), the
        # rows' transform and the 1 / size factor on the rows kept only: the same numbers. A
        # column whose transfer is 0 throughout (where exp underflows) stays 0: only the
        # columns before the first such are transformed
        columns = fft.ifft(filtered, axis=0, norm="forward", workers=1, overwrite_x=True)
        if used < spectrum.shape[1]:
            kept = columns[pad : pad + height]
            columns = np.zeros((height, spectrum.shape[1]), dtype=columns.dtype)
            columns[:, :used] = kept
        else:
            columns = columns[pad : pad + height]
        rows = fft.irfft(columns, padded_shape[1], axis=1, norm="forward", workers=1)
        response = np.empty((height, width), dtype=np.float32) if out is None else out[index]
        np.multiply(
            rows[:, pad : pad + width],
            rows.dtype.type(1) / rows.dtype.type(size),
            out=response,
            casting="same_kind",
        )
        yield response


class _Buffers:
    """:func:`scale_space`'s filtered spectra, one scale at a time."""

    def __init__(self, spectrum, freq_sq, half, mirrored):
        self.half, self.mirrored = half, mirrored
        self.spectrum, self.freq_sq = spectrum, freq_sq
        self.exponent = np.empty(freq_sq.shape, dtype=np.float32)
        self.transfer = np.empty(freq_sq.shape, dtype=np.float32)

    def filtered(self, sigma: float):
        """The spectrum times the transfer at ``sigma`` (its leading columns, up to the last
        where the transfer is not 0 throughout), and how many columns that is."""
        half, scale = self.half, -2.0 * np.pi**2 * sigma**2
        # |f|^2 grows along each row from its first (f_y = 0): from the column where the
        # exponent there is below UNDERFLOW, every row's exponential is 0
        first_row = self.freq_sq[0] * scale
        width = int(np.searchsorted(-first_row, -UNDERFLOW, side="right"))
        width = max(width, 1)
        exponent, transfer = self.exponent[:, :width], self.transfer[:, :width]
        np.multiply(self.freq_sq[:, :width], scale, out=exponent)
        np.exp(exponent, out=exponent)
        np.multiply(self.freq_sq[:, :width], 4.0 * np.pi**2 * sigma**2, out=transfer)
        transfer *= exponent
        nonzero = np.flatnonzero(transfer.any(axis=0))
        used = int(nonzero[-1]) + 1 if nonzero.size else 1
        spectrum = self.spectrum[:, :used]
        filtered = np.empty(spectrum.shape, dtype=spectrum.dtype)
        np.multiply(spectrum[:half], transfer[:, :used], out=filtered[:half])
        np.multiply(spectrum[half:], transfer[self.mirrored, :used], out=filtered[half:])
        return filtered, used


__all__ = ["blob_scales", "scale_responses", "scale_space"]
