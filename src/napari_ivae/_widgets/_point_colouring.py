"""'Colour points by' in the Results dock: the points coloured by a column of their features
(the model's classes and the unsupervised classes in their maps' colours, angles on a cyclic
colormap, any other column on viridis)."""

from __future__ import annotations

from typing import Any

import numpy as np

from napari_ivae import _layers
from napari_ivae._widgets import _writer

#: What 'colour points by' starts on, the first the points have: the model's classes, the
#: classes found on the latents, the angle.
DEFAULT_COLOURING = tuple(
    _writer.COLUMN_PREFIX + name for name in ("class", "cluster", "angle_deg", "angle")
)
DETECTION_YELLOW = "#ffd400"  # the detected points' own colour (Detect, Apply)
NO_COLOUR = "<blank>"  # the user chose the blank entry: the points keep their own colour
# points in a class map's colours vanish into that map: a dark rim (a share of the point's
# size) keeps each one seen, and its class where the map's regions overlap
CLASS_RIM_COLOUR = "#1a1a1a"
CLASS_RIM_WIDTH = 0.15


class PointColouring:
    """The Results dock's 'colour points by': which columns it offers, what it starts on,
    and the points coloured by the chosen column (a mixin of :class:`~.results.ResultsWidget`)."""

    def _feature_choices(self, *_: Any) -> list[str]:
        layer = self._session.points_layer
        if layer is None:
            return [""]
        from pandas.api.types import is_numeric_dtype

        return [""] + [c for c in layer.features.columns if is_numeric_dtype(layer.features[c])]

    def _on_colour_chosen(self, value: Any) -> None:
        if getattr(self, "_choosing", True):
            return
        self._colour_chosen = value or NO_COLOUR
        layer = self._session.points_layer
        if not value and layer is not None and len(layer.data):
            layer.face_color = DETECTION_YELLOW  # blank: the points as Detect drew them
            _class_rim(layer, False)

    def _default_colour(self) -> None:
        """'colour points by' starts on the model's class, else the found classes, else the
        angle (the points stayed plain yellow over the maps until a column was picked); a
        choice of the user's, blank included, is kept while the points have that column."""
        if not hasattr(self, "_colour_chosen"):
            return  # still being built
        choices = list(self.colour_by.choices)
        chosen = self._colour_chosen
        if chosen and (chosen == NO_COLOUR or chosen in choices):
            return
        default = next((c for c in DEFAULT_COLOURING if c in choices), "")
        if default and default != self.colour_by.value:
            choosing, self._choosing = self._choosing, True
            try:
                self.colour_by.value = default  # colours the points (changed)
            finally:
                self._choosing = choosing

    def colour_points(self, feature: str | None = None) -> None:
        """Colour the points layer by a feature column: the model's class and unsupervised
        classes (``ivae_class``, ``ivae_cluster``) in their maps' colours, angles on a cyclic
        colormap, anything else (the user's own columns too) on viridis."""
        layer = self._session.points_layer
        feature = feature or self.colour_by.value
        if layer is None or not feature or feature not in layer.features:
            return
        values = layer.features[feature].to_numpy(dtype=float)
        result = _writer.result_name_of(feature)  # None for a user's column
        classes = self._cluster_layer() if result == "cluster" else None
        class_colours = self._class_colours() if result == "class" else []
        _class_rim(layer, classes is not None or bool(class_colours))
        if classes is not None:  # the points take the class map's colours
            grey = np.array([0.5, 0.5, 0.5, 1.0])
            layer.face_color = np.array(
                [
                    np.asarray(classes.get_color(int(v) + 1), dtype=float).ravel()[:4]
                    if np.isfinite(v) and v >= 0
                    else grey
                    for v in values
                ]
            )
            return
        if class_colours:
            layer.face_color = [
                class_colours[int(v)]
                if np.isfinite(v) and 0 <= v < len(class_colours)
                else "#808080"
                for v in values
            ]
            return
        name = result or feature
        is_angle = name.startswith("angle")
        layer.face_colormap = "twilight_shifted" if is_angle else "viridis"
        layer.face_color = feature
        finite = values[np.isfinite(values)]
        if finite.size and is_angle:
            layer.face_contrast_limits = (
                (-180.0, 180.0) if name.endswith("_deg") else (-np.pi, np.pi)
            )
        elif finite.size:
            layer.face_contrast_limits = tuple(float(v) for v in np.percentile(finite, [1, 99]))
        layer.refresh_colors()

    def _cluster_layer(self) -> Any:
        image = self._session.image_layer
        if image is None:
            return None
        return _layers.find_result_layer(self._viewer, "cluster_map", image.name)

    def _class_colours(self) -> list[str]:
        """The annotation colour of each model class (empty when a name is unknown)."""
        bundle = self._session.bundle
        if bundle is None:
            return []
        table = dict(zip(self._session.classes.names, self._session.classes.colours))
        colours = [table.get(name) for name in bundle.config.class_names]
        return colours if colours and all(colours) else []


def _class_rim(layer: Any, shown: bool) -> None:
    """A dark rim around each point when the points wear a class map's colours; none
    otherwise (as Detect and Apply draw them)."""
    layer.border_color = CLASS_RIM_COLOUR
    layer.border_width_is_relative = True
    layer.border_width = CLASS_RIM_WIDTH if shown else 0.0
