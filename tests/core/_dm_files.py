"""Write DigitalMicrograph .dm3/.dm4 files for the reader's tests (a test helper, not product).

Follows the public description of the format (C. Boothroyd's DM3/DM4 notes): a big-endian
header, a tree of tag groups and data tags whose type lists are big-endian, values in the byte
order the header declares. Like a file saved by DigitalMicrograph, the ``ImageList`` starts with
a small RGB thumbnail, and the tree carries unrelated metadata (strings, structs, arrays of
structs, nested groups) that a reader must step over.
"""

from __future__ import annotations

import struct

import numpy as np

ELEMENT = {"i1": 9, "u1": 10, "i2": 2, "u2": 4, "i4": 3, "u4": 5, "f4": 6, "f8": 7, "b1": 8}
DATA_TYPE = {"i2": 1, "f4": 2, "u1": 6, "i4": 7, "i1": 9, "u2": 10, "u4": 11, "f8": 12, "b1": 14}
DATA_TYPE.update({"c8": 3, "c16": 13})


class Group(list):
    """A tag group: a list of ``(label, Group or Data)``."""


class Data:
    """A data tag: its type list and its value's bytes."""

    def __init__(self, info, payload: bytes):
        self.info, self.payload = list(info), payload


def simple(value, code: int, order: str) -> Data:
    kind = {2: "i2", 3: "i4", 4: "u2", 5: "u4", 6: "f4", 7: "f8", 8: "u1", 9: "i1", 10: "u1"}
    return Data([code], np.array([value], dtype=np.dtype(kind[code]).newbyteorder(order)).tobytes())


def array(values: np.ndarray, order: str, code: int | None = None) -> Data:
    values = np.asarray(values)
    code = ELEMENT[values.dtype.str[1:]] if code is None else code
    data = values.astype(values.dtype.newbyteorder(order)).tobytes()
    count = len(data) // values.dtype.itemsize
    return Data([20, code, count], data)


def complex_array(values: np.ndarray, order: str) -> Data:
    """As DigitalMicrograph stores a complex image: an array of (real, imaginary) structs."""
    values = np.asarray(values)
    code = 6 if values.dtype.itemsize == 8 else 7  # two float32 or two float64
    data = values.astype(values.dtype.newbyteorder(order)).tobytes()
    return Data([20, 15, 0, 2, 0, code, 0, code, values.size], data)


def text_array(text: str, order: str) -> Data:
    return array(np.frombuffer(text.encode("utf-16-le"), dtype="<u2"), order)


def string(text: str, order: str) -> Data:
    codec = "utf-16-le" if order == "<" else "utf-16-be"
    return Data([18, len(text)], text.encode(codec))


def _image_data(pixels, order, scale, origin, units, data_type=None) -> Group:
    dims = list(reversed(pixels.shape))  # x first
    axes = Group()
    for i in range(len(dims)):
        axes.append(
            (
                "",
                Group(
                    [
                        ("Origin", simple(origin[i] if origin else 0.0, 6, order)),
                        ("Scale", simple(scale[i] if scale else 1.0, 6, order)),
                        ("Units", text_array(units[i] if units else "", order)),
                    ]
                ),
            )
        )
    calibrations = Group(
        [
            (
                "Brightness",
                Group([("Origin", simple(0.0, 6, order)), ("Units", text_array("Counts", order))]),
            ),
            ("Dimension", axes),
            ("DisplayCalibratedUnits", simple(1, 8, order)),
        ]
    )
    code = DATA_TYPE[pixels.dtype.str[1:]] if data_type is None else data_type
    return Group(
        [
            ("Calibrations", calibrations),
            ("Data", (complex_array if pixels.dtype.kind == "c" else array)(pixels.ravel(), order)),
            ("DataType", simple(code, 3, order)),
            ("Dimensions", Group([("", simple(d, 5, order)) for d in dims])),
            ("PixelDepth", simple(pixels.dtype.itemsize, 3, order)),
        ]
    )


def dm_tree(
    pixels, *, order="<", scale=None, origin=None, units=None, thumbnail=True, string_tag=True
) -> Group:
    """The tag tree of a file holding ``pixels`` (calibration per file axis, x first)."""
    entries = Group()
    if thumbnail:  # DigitalMicrograph's RGBA thumbnail: DataType 23, 4 bytes a pixel
        thumb = _image_data(np.zeros((8, 8), "u4"), order, None, None, None, data_type=23)
        entries.append(("", Group([("ImageData", thumb), ("Name", text_array("thumb", order))])))
    image = _image_data(pixels, order, scale, origin, units)
    tags = Group([("Microscope Info", Group([("Voltage", simple(200000.0, 7, order))]))])
    entries.append(
        ("", Group([("ImageData", image), ("ImageTags", tags), ("Name", text_array("img", order))]))
    )
    point = Data(
        [15, 0, 2, 0, 6, 0, 6], np.array([1.5, 2.5], np.dtype("f4").newbyteorder(order)).tobytes()
    )
    rows = np.array([[1, 2], [3, 4], [5, 6]], np.dtype("i4").newbyteorder(order)).tobytes()
    return Group(
        [
            ("ApplicationBounds", array(np.array([0, 0, 800, 1200], "i4"), order)),
            (
                "DocumentObjectList",
                Group(
                    [("", Group([("AnnotationType", simple(20, 3, order)), ("Rectangle", point)]))]
                ),
            ),
            ("ImageList", entries),
            (
                "Image Behavior",
                Group(
                    [("ViewDisplayID", simple(8, 5, order))]
                    + ([("Title", string("a title", order))] if string_tag else [])
                ),
            ),
            ("Pairs", Data([20, 15, 0, 2, 0, 3, 0, 3, 3], rows)),
            ("InImageMode", simple(1, 8, order)),
        ]
    )


def encode(tree: Group, version: int = 4, order: str = "<") -> bytes:
    """The bytes of a DM file of ``version`` (3 or 4) holding ``tree``."""
    wide = ">q" if version == 4 else ">i"

    def group(node: Group) -> bytes:
        out = b"\x00\x01" + struct.pack(wide, len(node))
        for label, child in node:
            kind = 20 if isinstance(child, Group) else 21
            body = group(child) if isinstance(child, Group) else data(child)
            name = label.encode("latin-1")
            out += struct.pack(">bH", kind, len(name)) + name
            if version == 4:
                out += struct.pack(">q", len(body))
            out += body
        return out

    def data(node: Data) -> bytes:
        info = b"".join(struct.pack(wide, v) for v in node.info)
        return b"%%%%" + struct.pack(wide, len(node.info)) + info + node.payload

    body = group(tree) + b"\x00" * 8
    flag = 1 if order == "<" else 0
    return (
        struct.pack(">i", version) + struct.pack(wide, len(body)) + struct.pack(">i", flag) + body
    )


def write_dm(path, pixels, *, version=4, order="<", **calibration) -> bytes:
    """Write ``pixels`` as a .dm3 (version 3) or .dm4 file; returns the bytes written."""
    raw = encode(dm_tree(np.asarray(pixels), order=order, **calibration), version, order)
    with open(path, "wb") as stream:
        stream.write(raw)
    return raw
