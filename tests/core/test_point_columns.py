"""Detections built from column arrays (no pandas on the detect path): the same DataFrame when
``properties`` is read, the same CSV bytes as pandas writes, and pandas never imported."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from napari_ivae.core.detection.detections import empty_detections, make_detections
from napari_ivae.core.detection.peaks import merge_close_points
from napari_ivae.core.detection.point_columns import joined, points_of, row_count, taken
from napari_ivae.core.io.points_csv import write_points_csv


def _columns(n=40, seed=0) -> dict:
    rng = np.random.default_rng(seed)
    floats = rng.normal(0, 1, n) * 10.0 ** rng.integers(-8, 18, n)
    floats[:6] = [np.nan, np.inf, -np.inf, -0.0, 1e-5, 1e16]
    return {
        "row": rng.random(n) * 500,
        "col": rng.random(n) * 500,
        "intensity": rng.random(n).astype(np.float32),
        "prominence": floats,
        "label": np.arange(n, dtype=np.int64) + 1,
        "fit_ok": rng.random(n) > 0.5,
    }


def test_properties_read_as_the_dataframe_path_builds_them():
    columns = _columns()
    from_columns = make_detections(columns)
    from_frame = make_detections(pd.DataFrame(columns))
    assert np.array_equal(from_columns.coords, from_frame.coords)
    assert np.array_equal(from_columns.column("prominence"), columns["prominence"], equal_nan=True)
    pd.testing.assert_frame_equal(from_columns.properties, from_frame.properties)
    assert list(from_columns.columns()) == list(from_frame.properties.columns)


@pytest.mark.parametrize("frames", [0, 2.5])
def test_the_csv_is_written_byte_for_byte_as_pandas_writes_it(tmp_path, frames):
    columns = {**_columns(), "frame": np.full(40, frames)}
    detections = make_detections(columns)
    detections.coords[:, 0] = frames  # a non-integer frame stays a float, as pandas writes it
    write_points_csv(tmp_path / "columns.csv", detections)
    table = pd.DataFrame(columns)[["frame", "row", "col", "intensity", "prominence", "label"]]
    table = pd.concat([table, pd.DataFrame({"fit_ok": columns["fit_ok"]})], axis=1)
    if frames == 0:
        table["frame"] = table["frame"].astype(np.int64)
    expected = table.to_csv(index=False).encode()
    assert (tmp_path / "columns.csv").read_bytes() == expected
    empty = empty_detections(("snr",))
    write_points_csv(tmp_path / "empty.csv", empty)
    assert (tmp_path / "empty.csv").read_bytes() == b"frame,row,col,snr\n"


def test_a_text_column_is_still_written_by_pandas(tmp_path):
    detections = make_detections({"row": np.array([1.0]), "col": np.array([2.0])})
    detections.properties["note"] = ["a, b"]  # read as a DataFrame, then changed
    write_points_csv(tmp_path / "text.csv", detections)
    assert (tmp_path / "text.csv").read_text() == 'frame,row,col,note\n0,1.0,2.0,"a, b"\n'


def test_detections_and_their_csv_need_no_pandas(tmp_path):
    probe = (
        "import sys, numpy as np\n"
        "from napari_ivae.core.detection.detections import make_detections\n"
        "from napari_ivae.core.io.points_csv import write_points_csv\n"
        "found = make_detections({'row': np.array([1.5]), 'col': np.array([2.0])})\n"
        "found.drop_column('fit_ok')\n"
        f"write_points_csv({str(tmp_path / 'p.csv')!r}, found)\n"
        "print(found.column('row')[0], 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1.5", "False"]


def test_dropping_a_column():
    detections = make_detections(_columns())
    detections.drop_column("fit_ok")
    detections.drop_column("absent")
    assert "fit_ok" not in detections.properties
    detections.drop_column("label")  # now a DataFrame
    assert list(detections.properties.columns)[-1] == "prominence"


def test_merging_columns_as_a_dataframe():
    table = {"row": np.array([10.0, 11.0, 30.0]), "col": np.array([10.0, 10.5, 30.0])}
    table["intensity"] = np.array([1.0, 2.0, 0.5])
    kept, n_merged = merge_close_points(table, 3.0)
    frame_kept, _ = merge_close_points(pd.DataFrame(table), 3.0)
    assert n_merged == 1 and isinstance(kept, dict)
    assert kept["intensity"].tolist() == frame_kept["intensity"].tolist() == [2.0, 0.5]


def test_column_helpers():
    first, second = {"row": np.array([1.0]), "col": np.array([2.0])}, {"row": [3], "col": [4]}
    both = joined([first, second])
    assert row_count(both) == 2 and both["row"].dtype == np.float64
    assert points_of(both).tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert taken(both, np.array([False, True]))["col"].tolist() == [4]
    assert row_count({}) == 0 and joined([]) == {}
    with pytest.raises(ValueError, match="same columns"):
        joined([first, {"col": [1.0], "row": [2.0]}])
