"""Write Nanonis .sxm scans for the reader's tests (a test helper, not product), per the public
description of the format: an ASCII header of ``:KEY:`` lines and their values as the Nanonis
controller writes them, ``:SCANIT_END:``, newlines, ``\\x1a\\x04``, then big-endian float32 frames:
per channel of ``:DATA_INFO:`` the forward scan and, for ``both``, the backward one stored right
to left; an ``up`` scan stores its bottom line first."""

from __future__ import annotations

import numpy as np


def sxm_bytes(
    channels,
    *,
    scan_range=(2e-8, 1.5e-8),
    scan_dir: str = "down",
    angle: float = 0.0,
    newline: str = "\n",
    extra: dict | None = None,
    drop: tuple = (),
) -> bytes:
    """A .sxm file of ``channels``: ``{name: (unit, forward, backward or None)}``, each image
    ``(lines, pixels)`` top line first and left pixel first as seen (the writer stores them as
    Nanonis does). ``extra`` replaces header values by key; ``drop`` leaves keys out."""
    first = next(iter(channels.values()))[1]
    lines, pixels = np.shape(first)
    rows = ["\tChannel\tName\tUnit\tDirection\tCalibration\tOffset"]
    data = b""
    for number, (name, (unit, forward, backward)) in enumerate(channels.items()):
        both = backward is not None
        rows.append(f"\t{number + 14}\t{name}\t{unit}\t{'both' if both else 'forward'}"
                    f"\t{1.0e-9:.3E}\t{0.0:.3E}")  # fmt: skip
        frames = [np.asarray(forward)] + ([np.asarray(backward)[:, ::-1]] if both else [])
        for frame in frames:
            stored = frame[::-1] if scan_dir == "up" else frame
            data += stored.astype(">f4").tobytes()
    header = {
        "NANONIS_VERSION": ["2"],
        "SCANIT_TYPE": ["              FLOAT            MSBFIRST"],
        "REC_DATE": [" 06.12.2026"],
        "REC_TIME": ["18:01:02"],
        "REC_TEMP": ["      290.0000000000"],
        "ACQ_TIME": ["       470.3"],
        "SCAN_PIXELS": [f"{pixels:>9d}{lines:>9d}"],
        "SCAN_FILE": ["C:\\Users\\stm\\Documents\\Data\\img001.sxm"],
        "SCAN_TIME": ["             3.533E+0             3.533E+0"],
        "SCAN_RANGE": [f"{scan_range[0]:>22.6E}{scan_range[1]:>22.6E}"],
        "SCAN_OFFSET": [f"{1.5e-9:>22.6E}{-2.0e-9:>22.6E}"],
        "SCAN_ANGLE": [f"{angle:>20.3E}"],
        "SCAN_DIR": [scan_dir],
        "BIAS": ["            -1.000E-1"],
        "Z-CONTROLLER": ["\tName\ton\tSetpoint\tP-gain\tI-gain\tT-const",
                         "\tlog Current\t1\t1.000E-10 A\t7.000E-12 m\t3.500E-9 m/s\t2.000E-3 s"],
        "COMMENT": ["tip: W; 12:30 scan"],
        "Bias>Bias (V)": ["-100E-3"],
        "Current>Current (A)": ["1.02E-10"],
        "DATA_INFO": [*rows, ""],
    }  # fmt: skip
    header.update(extra or {})
    text = "".join(
        f":{key}:{newline}" + "".join(f"{v}{newline}" for v in values)
        for key, values in header.items()
        if key not in drop
    )
    text += f":SCANIT_END:{newline}{newline}{newline}"
    return text.encode("latin-1") + b"\x1a\x04" + data


def write_sxm(path, channels, **options) -> bytes:
    """Write ``sxm_bytes(channels, **options)`` to ``path``; returns the bytes."""
    raw = sxm_bytes(channels, **options)
    with open(path, "wb") as stream:
        stream.write(raw)
    return raw
