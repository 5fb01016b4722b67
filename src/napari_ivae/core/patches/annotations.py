"""Class labels for patch centres from shapes drawn in napari.

Rules
-----
* ``polygon`` and ``rectangle`` shapes are polygons through their vertices; an ``ellipse`` is
  the ellipse inscribed in its 4 bounding-box corners (napari's representation, possibly
  rotated). ``path`` and ``line`` shapes enclose no area: they are ignored and counted in
  ``n_ignored``.
* Vertices are in napari's order: ``(row, col)``, or ``(frame, row, col)`` on a stack. On a
  stack (``ndim_image=3``) a shape with 3D vertices applies to its own frame only; a shape
  with 2D vertices applies to every frame.
* Overlaps: shapes are applied in order, so **the shape drawn last (topmost in napari) wins**
  (:data:`OVERLAP_RULE`; no labelled point is lost). Points inside shapes of different classes
  are counted in ``n_conflicts``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from napari_ivae.core.errors import InputError

AREA_SHAPES = ("polygon", "rectangle", "ellipse")
LINE_SHAPES = ("path", "line")
#: How a point inside shapes of different classes is labelled (the one statement of the rule;
#: the widgets and the CLI quote it).
OVERLAP_RULE = "the shape drawn last wins"


@dataclass
class LabelAssignment:
    """Result of :func:`labels_from_shapes`.

    Attributes
    ----------
    labels : (N,) int64
        Class of each point, ``-1`` where no shape covers it.
    counts : dict
        ``{class: number of labelled points}`` for every class given (0 included), sorted.
    n_conflicts : int
        Points inside shapes of two or more different classes (resolved: last shape wins).
    n_ignored : int
        Shapes without area (paths, lines) that were skipped.
    message : str
        Human-readable summary.
    """

    labels: np.ndarray
    counts: dict = field(default_factory=dict)
    n_conflicts: int = 0
    n_ignored: int = 0
    message: str = ""

    @property
    def n_labeled(self) -> int:
        """Number of points that received a class."""
        return int((self.labels >= 0).sum())


def labels_from_shapes(
    centres,
    frames,
    shapes,
    shape_types,
    classes,
    ndim_image: int = 2,
) -> LabelAssignment:
    """Give each point the class of the shape it lies in.

    Parameters
    ----------
    centres : (N, 2) array
        ``(row, col)`` of the points (e.g. ``PatchSet.centres``).
    frames : (N,) array or None
        Frame of each point (``PatchSet.frames``); None means all in frame 0.
    shapes : list of (M, D) arrays
        Vertices of each shape (napari ``Shapes.data``), D = 2 or 3.
    shape_types : list of str
        napari ``Shapes.shape_type``: 'polygon', 'rectangle', 'ellipse', 'path' or 'line'.
    classes : list of int
        Class (0..K-1) of each shape.
    ndim_image : {2, 3}
        3 when the image is a ``(frames, Y, X)`` stack; then 3D vertices select a frame.

    Returns
    -------
    LabelAssignment

    Raises
    ------
    InputError
        Mismatched lengths, unknown shape types, missing/negative classes, a shape spanning
        several frames, or malformed vertices.
    """
    points = _as_centres(centres)
    point_frames = _as_frames(frames, len(points))
    if not (len(shapes) == len(shape_types) == len(classes)):
        raise InputError(
            f"Got {len(shapes)} shapes, {len(shape_types)} shape types and {len(classes)} classes; "
            "give one type and one class per shape."
        )
    class_ids = _as_classes(classes)
    labels = np.full(len(points), -1, dtype=np.int64)
    conflict = np.zeros(len(points), dtype=bool)
    n_ignored = 0
    for index, (vertices, kind, cls) in enumerate(zip(shapes, shape_types, class_ids)):
        kind = str(kind).lower()
        if kind in LINE_SHAPES:
            n_ignored += 1
            continue
        if kind not in AREA_SHAPES:
            raise InputError(
                f"Shape {index} has unknown type {kind!r}; expected one of {AREA_SHAPES + LINE_SHAPES}."
            )
        frame, planar = _split_vertices(vertices, index, kind, ndim_image)
        candidates = (
            np.arange(len(points)) if frame is None else np.flatnonzero(point_frames == frame)
        )
        inside = candidates[_inside(points[candidates], planar, kind)]
        conflict[inside] |= (labels[inside] >= 0) & (labels[inside] != cls)
        labels[inside] = cls
    counts = {int(c): int((labels == c).sum()) for c in sorted(set(class_ids.tolist()))}
    result = LabelAssignment(labels, counts, int(conflict.sum()), n_ignored)
    result.message = _summary(result, len(points))
    return result


def _as_centres(centres) -> np.ndarray:
    points = np.asarray(centres, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2:
        raise InputError(
            f"Point centres must be an (N, 2) (row, col) array, got shape {points.shape}."
        )
    if not np.isfinite(points).all():
        raise InputError("Point centres contain NaN or infinite values.")
    return points


def _as_frames(frames, n_points: int) -> np.ndarray:
    if frames is None:
        return np.zeros(n_points, dtype=np.int64)
    values = np.asarray(frames)
    if values.shape != (n_points,):
        raise InputError(
            f"Got {values.size} frame indices for {n_points} points; give one per point."
        )
    return np.round(values).astype(np.int64)


def _as_classes(classes) -> np.ndarray:
    values = np.asarray(classes, dtype=np.float64).reshape(-1)
    missing = ~np.isfinite(values) | (values < 0) | (values != np.round(values))
    if missing.any():
        first = int(np.flatnonzero(missing)[0])
        raise InputError(
            f"Shape {first} has no valid class ({classes[first]!r}); give every shape a class "
            "number 0, 1, ... (in the layer's features)."
        )
    return values.astype(np.int64)


def _split_vertices(vertices, index: int, kind: str, ndim_image: int):
    """Return (frame or None, (M, 2) row/col vertices) of one shape."""
    verts = np.asarray(vertices, dtype=np.float64)
    if verts.ndim != 2 or verts.shape[1] < 2 or len(verts) < 3 or not np.isfinite(verts).all():
        raise InputError(
            f"Shape {index} ({kind}) needs at least 3 finite (row, col) vertices, got shape {verts.shape}."
        )
    if kind == "ellipse" and len(verts) != 4:
        raise InputError(
            f"Ellipse {index} must be given by the 4 corners of its bounding box, got {len(verts)}."
        )
    planar = verts[:, -2:]
    if ndim_image < 3 or verts.shape[1] < 3:
        return None, planar
    frame_coord = verts[:, -3]
    if frame_coord.max() - frame_coord.min() > 0.5:
        raise InputError(
            f"Shape {index} spans frames {frame_coord.min():g}..{frame_coord.max():g}; draw each "
            "shape on a single frame (or in 2D to apply it to all frames)."
        )
    return int(np.round(frame_coord.mean())), planar


def _inside(points: np.ndarray, planar: np.ndarray, kind: str) -> np.ndarray:
    """Boolean mask of the points inside one shape (bounding-box pre-filter first)."""
    inside = np.zeros(len(points), dtype=bool)
    lo, hi = planar.min(axis=0), planar.max(axis=0)
    near = np.flatnonzero(np.all((points >= lo) & (points <= hi), axis=1))
    if near.size == 0:
        return inside
    if kind == "ellipse":
        inside[near] = _inside_ellipse(points[near], planar)
    else:
        from skimage.measure import points_in_poly

        inside[near] = points_in_poly(points[near], planar)
    return inside


def _inside_ellipse(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    # As napari draws it: centre = mean of the corners, semi-axes = half the box edges.
    centre = corners.mean(axis=0)
    axes = np.stack([(corners[1] - corners[0]) / 2.0, (corners[2] - corners[1]) / 2.0], axis=1)
    if abs(np.linalg.det(axes)) < 1e-12:
        return np.zeros(len(points), dtype=bool)
    unit = np.linalg.solve(axes, (points - centre).T)
    return (unit**2).sum(axis=0) <= 1.0


def _summary(result: LabelAssignment, n_points: int) -> str:
    per_class = ", ".join(f"class {c}: {n}" for c, n in result.counts.items())
    text = f"{result.n_labeled} of {n_points} points labelled ({per_class or 'no classes'})"
    if result.n_conflicts:
        text += f"; {result.n_conflicts} points in overlapping shapes of different classes ({OVERLAP_RULE})"
    if result.n_ignored:
        text += f"; {result.n_ignored} path/line shapes ignored (they enclose no area)"
    return text
