"""Write Velox and Berkeley EMD (.emd) files with h5py for the reader's tests (a test helper, not
product), laid out as the public descriptions give them: Velox ``/Data/Image/<uuid>/Data``
(height, width, frames) with a ``uint8`` ``Metadata`` array of zero-padded JSON per frame and a
``/Version`` JSON; Berkeley EMD groups under ``/data`` or elsewhere (``emd_group_type`` 1) with ``dim1`` ...
vectors."""

from __future__ import annotations

import json
import uuid

import h5py
import numpy as np


def velox_metadata(detector="HAADF", pixel=(1e-10, 1e-10), unit="m", frames=1, pad=512):
    """The ``Metadata`` array of one Velox image: ``(N, frames)`` uint8, JSON zero-padded.

    ``pixel`` is (width, height) in ``unit`` (None: no ``PixelSize``)."""
    result = {
        "AcquisitionUnit": "",
        "CompositionType": "",
        "Detector": detector,
        "Encoding": "",
        "ImageSize": {"width": "64", "height": "48"},
        "Offset": {"x": "-3.1e-09", "y": "-2.4e-09"},
    }
    if pixel is not None:
        result["PixelSize"] = {"width": repr(pixel[0]), "height": repr(pixel[1])}
        result["PixelUnitX"], result["PixelUnitY"] = unit, unit
    columns = []
    for frame in range(frames):
        text = json.dumps(
            {
                "Core": {"MetadataDefinitionVersion": "7.9", "MetadataSchemaVersion": "v1/2013/07"},
                "Acquisition": {"AcquisitionStartDatetime": {"DateTime": str(1700000000 + frame)}},
                "BinaryResult": result,
                "Detectors": {
                    "Detector-0": {"DetectorName": detector, "DetectorType": "ScanningDetector"}
                },
                "Optics": {"AccelerationVoltage": "300000"},
                "Stage": {
                    "AlphaTilt": "0",
                    "BetaTilt": "0",
                    "Position": {"x": "1e-06", "y": "2e-06", "z": "0"},
                },
            }
        ).encode()
        columns.append(np.frombuffer(text.ljust(len(text) + pad, b"\0"), "u1"))
    length = max(len(c) for c in columns)
    out = np.zeros((length, frames), "u1")
    for frame, column in enumerate(columns):
        out[: len(column), frame] = column
    return out


def write_velox(path, images, spectra=False, version=True):
    """A Velox .emd file of ``images``: a list of ``(frames (y, x) or (n, y, x), metadata kwargs)``.

    Each image is stored as ``(height, width, frames)``; ``spectra`` adds a
    ``/Data/SpectrumImage`` group (as an EDS acquisition has)."""
    with h5py.File(path, "w") as f:
        if version:
            f.create_dataset("Version", data=np.array([b'{"format": "Velox", "version": 3}']))
        data = f.create_group("Data")
        group = data.create_group("Image")
        labels = {}
        for number, (frames, meta) in enumerate(images, start=1):
            meta = dict(meta)
            if "label" in meta:  # the label of the image's display in Velox
                labels[uuid.UUID(int=number).hex] = meta.pop("label")
            frames = np.asarray(frames)
            stack = frames[None] if frames.ndim == 2 else frames
            one = group.create_group(uuid.UUID(int=number).hex)  # in the file: the list's order
            stored = np.moveaxis(stack, 0, -1)
            if stored.dtype.kind == "c":  # as Velox: (realFloat, imagFloat) pairs
                pairs = np.dtype([("realFloat", "<f4"), ("imagFloat", "<f4")])
                stored = np.ascontiguousarray(stored.astype("<c8")).view(pairs)
            one.create_dataset("Data", data=stored)
            md = velox_metadata(frames=len(stack), **meta)
            one.create_dataset("Metadata", data=md)
            one.create_dataset("FrameLookupTable", data=np.arange(len(stack), dtype="u4"))
        if spectra:
            spec = data.create_group("SpectrumImage").create_group(uuid.uuid4().hex)
            spec.create_dataset("Data", data=np.zeros((16, 1), "u1"))
        f.create_group("Operations")
        displays = f.create_group("Presentation").create_group("Displays")
        shown = displays.create_group("ImageDisplay")
        for key, label in labels.items():  # as Velox: one JSON text per display, vlen bytes
            text = json.dumps({"display": {"label": label}, "dataPath": f"/Data/Image/{key}"})
            made = shown.create_dataset(uuid.uuid4().hex, (1,), h5py.special_dtype(vlen=bytes))
            made[0] = text.encode()


def write_berkeley(path, groups, *, top="data", data_name="data"):
    """A Berkeley EMD file: ``groups`` maps a name to ``(data, dims)``, ``dims`` a list per axis of
    ``(vector, name, units)`` (``None``: no vector). ``top``: the groups' parent (HyperSpy
    writes ``signals``, Prismatic ``4DSTEM_simulation/data/realslices``); ``data_name``: the
    dataset's (Prismatic: ``realslice``)."""
    with h5py.File(path, "w") as f:
        f.attrs["version_major"] = 0
        f.attrs["version_minor"] = 2
        parent = f.create_group(top)
        for name, (data, dims) in groups.items():
            group = parent.create_group(name)
            group.attrs["emd_group_type"] = 1
            group.create_dataset(data_name, data=np.asarray(data))
            for number, dim in enumerate(dims, start=1):
                if dim is None:
                    continue
                vector, label, units = dim
                made = group.create_dataset(f"dim{number}", data=np.asarray(vector))
                made.attrs["name"] = np.bytes_(label)
                made.attrs["units"] = np.bytes_(units)
        f.create_group("microscope")
        f.create_group("user")
