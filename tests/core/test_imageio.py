"""read_image and the points CSV round trip (incl. napari-style headers)."""

import numpy as np
import pandas as pd
import pytest
import tifffile

from napari_ivae.core.detection.detections import make_detections
from napari_ivae.core.errors import InputError
from napari_ivae.core.io.imageio import read_image, read_points_csv, write_points_csv


def test_read_npy_and_tif(tmp_path):
    data = np.arange(300, dtype=np.uint16).reshape(3, 10, 10)
    np.save(tmp_path / "a.npy", data)
    tifffile.imwrite(tmp_path / "a.tif", data, photometric="minisblack")
    np.testing.assert_array_equal(read_image(tmp_path / "a.npy"), data)
    np.testing.assert_array_equal(read_image(tmp_path / "a.tif"), data)


def test_read_pictures(tmp_path):
    import imageio.v3 as iio

    grey = (np.arange(120).reshape(10, 12) * 2).astype(np.uint8)
    iio.imwrite(tmp_path / "g.png", grey)
    np.testing.assert_array_equal(read_image(tmp_path / "g.png"), grey)
    wide = (np.arange(120).reshape(10, 12) * 500).astype(np.uint16)
    iio.imwrite(tmp_path / "w.png", wide)
    np.testing.assert_array_equal(read_image(tmp_path / "w.png"), wide)
    colour = np.stack([grey, grey // 2, 255 - grey], axis=-1)
    iio.imwrite(tmp_path / "c.png", colour)
    np.testing.assert_array_equal(read_image(tmp_path / "c.png"), colour)
    iio.imwrite(tmp_path / "c.jpg", colour, quality=95)
    assert read_image(tmp_path / "c.jpg").shape == (10, 12, 3)


def test_read_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_image(tmp_path / "missing.npy")
    (tmp_path / "x.hspy").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(InputError, match="unsupported extension"):
        read_image(tmp_path / "x.hspy")
    (tmp_path / "x.dm4").write_bytes(b"\x00\x00\x00\x04")
    with pytest.raises(InputError, match="truncated"):
        read_image(tmp_path / "x.dm4")
    (tmp_path / "x.png").write_bytes(b"\x89PNG")
    with pytest.raises(InputError, match="Could not read"):
        read_image(tmp_path / "x.png")
    (tmp_path / "bad.npy").write_bytes(b"not numpy")
    with pytest.raises(InputError, match="Could not read"):
        read_image(tmp_path / "bad.npy")


def test_points_csv_round_trip(tmp_path):
    table = pd.DataFrame(
        {"frame": [0, 1], "row": [1.25, 2.5], "col": [3.0, 4.75], "snr": [5.5, 6.0]}
    )
    detections = make_detections(table)
    path = write_points_csv(tmp_path / "p.csv", detections)
    assert path.read_text().splitlines()[0] == "frame,row,col,snr"
    coords, props = read_points_csv(path)
    np.testing.assert_allclose(coords, [[0, 1.25, 3.0], [1, 2.5, 4.75]])
    assert list(props.columns) == ["frame", "row", "col", "snr"]
    np.testing.assert_allclose(props["snr"], [5.5, 6.0])


@pytest.mark.parametrize(
    "text, expected",
    [
        ("index,axis-0,axis-1\n0,1.5,2.5\n1,3,4\n", [[0, 1.5, 2.5], [0, 3, 4]]),
        ("index,axis-0,axis-1,axis-2\n0,2,1.5,2.5\n", [[2, 1.5, 2.5]]),
        ("row,col\n1,2\n", [[0, 1, 2]]),
        ("y,x,area\n7,8,10\n", [[0, 7, 8]]),
    ],
)
def test_other_headers(tmp_path, text, expected):
    path = tmp_path / "p.csv"
    path.write_text(text)
    coords, props = read_points_csv(path)
    np.testing.assert_allclose(coords, expected)
    assert "index" not in props.columns


def test_csv_errors(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="no coordinate columns"):
        read_points_csv(path)
    with pytest.raises(InputError, match="not found"):
        read_points_csv(tmp_path / "none.csv")


def test_write_plain_array(tmp_path):
    path = write_points_csv(tmp_path / "a.csv", np.array([[1.0, 2.0]]))
    coords, _ = read_points_csv(path)
    np.testing.assert_allclose(coords, [[0, 1, 2]])
