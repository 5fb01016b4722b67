"""What the Detect dock says: the core's messages in the dock's words (its controls named
instead of the command line's options), the values a detection chose, and its result line."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

PARTICLES_HINT = "If the image shows particles rather than atom columns, choose 'find: particles'."


# The command line's options named in the core's messages, as this widget's controls (the
# advanced ones are under "advanced"), or, where it has none, the action to take in the viewer.
_WIDGET_SPELLINGS = [
    (
        re.compile(r"\b([Gg])ive the spacing explicitly\b(?! \()"),
        r"\1ive the spacing explicitly ('spacing (px)')",
    ),
    (re.compile(r"\bgive --spacing\b"), "set 'spacing (px)'"),
    (re.compile(r"\bleave it out to estimate it\b"), "set it to 0 (auto) to estimate it"),
    (re.compile(r"--spacing\b( PX)?"), "'spacing (px)'"),
    (re.compile(r"--sigma\b"), "'smoothing σ'"),
    (re.compile(r"\((--)?invert\)"), "('polarity' dark)"),
    (re.compile(r"--invert\b"), "'invert contrast'"),
    (re.compile(r"crystal_only=False|--keep-non-crystal\b"), "'keep peaks outside the crystal'"),
    (re.compile(r"--polarity\b"), "'polarity'"),
    (re.compile(r"--method\b"), "'threshold'"),
    # options the dock does not have: the action to take here instead
    (
        re.compile(r"the threshold too low \(--threshold\)"),
        "noise peaks taken for atoms (try more 'smoothing σ')",
    ),
    (
        re.compile(r"give --exclude to mask something else"),
        "to leave out something else, select its points and delete them",
    ),
    (re.compile(r"besides the --exclude mask"), "besides the mask given"),
    (re.compile(r" or a lower --threshold\b"), ""),  # the atoms' threshold: no control here
    (
        re.compile(r"look at the labels, or set --min-size"),
        "look at the labels layer, or set 'min size (px)'",
    ),
    (
        re.compile(
            r", lower min_size, (raise sensitivity \(fainter particles\), )?or try another method"
        ),
        lambda m: (
            ", lower 'min size (px)', "
            + ("raise 'sensitivity' (fainter particles), " if m.group(1) else "")
            + "or try another 'threshold'"
        ),
    ),
    (re.compile(r"--sensitivity\b"), "'sensitivity'"),
    (re.compile(r"--min-size\b"), "'min size (px)'"),
    (re.compile(r"\bmethod=[\"'](\w+)[\"']"), r"threshold '\1'"),
    (re.compile(r"\bpolarity=[\"'](\w+)[\"']"), r"polarity '\1'"),
    (re.compile(r" ?\(--[a-z][a-z-]*\)"), ""),  # a new core message's option the dock lacks
]


def widget_spelling(text: str) -> str:
    """A core detection message with the options it names spelled as this widget's controls
    (the quality warnings name the command line's options)."""
    for pattern, replacement in _WIDGET_SPELLINGS:
        text = pattern.sub(replacement, text)
    return text


def _filled_warning(count: int) -> str:
    return f"{count} NaN/inf pixels (missing data) were replaced by the median of their frame"


def _as_shown_inverted(warning: str) -> str:
    """A self-check note on an image inverted by 'invert contrast': its bright spots are the
    layer's dark ones."""
    swap = {"bright spots": "dark spots", "dark spots": "bright spots"}
    return re.sub(r"\b(bright|dark) spots\b", lambda m: swap[m.group(0)], warning)


def point_size(det: Any, mode: str) -> float:
    """Size of the detections' points: 0.4 spacings for atoms, half the median diameter for
    particles (5 px without either), at least 2 px."""
    spacing = det.params.get("spacing") if isinstance(det.params, dict) else None
    size = 0.4 * float(spacing) if spacing else 5.0
    if mode == "particles" and "equivalent_diameter" in det.properties and len(det.properties):
        size = float(np.median(det.properties["equivalent_diameter"])) * 0.5
    return max(size, 2.0)


def _chosen(used: dict, asked: dict) -> str:
    """The values detection used, those it chose itself marked "auto"."""
    if asked["mode"] == "atoms":
        spacing = used.get("spacing")
        parts = [f"spacing {spacing:.2f} px" + (" (auto)" if asked.get("spacing") is None else "")]
        if used.get("lattice_spacing") and abs(used["lattice_spacing"] - spacing) > 0.05 * spacing:
            parts[0] += f", lattice {used['lattice_spacing']:.2f} px"
        parts.append(
            f"smoothing {used.get('sigma', 0.0):.2f} px"
            + (" (auto)" if asked.get("sigma") is None else "")
        )
        if used.get("polarity"):
            parts.append(f"{used['polarity'].replace(' (auto)', '')} atoms (auto)")
        return ", ".join(parts)
    resolved = used.get("resolved")
    first = resolved[0] if isinstance(resolved, list) and resolved else resolved
    first = first if isinstance(first, dict) else {}
    parts = [
        f"{first.get('polarity', asked.get('polarity'))} particles"
        + (" (auto)" if asked.get("polarity") == "auto" else "")
    ]
    if "scale_sigma" in first:
        parts.append(f"blob scale {first['scale_sigma']:.1f} px (auto)")
    return ", ".join(parts)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def result_message(
    det: Any, params: dict, preparation: dict, hidden: list, physical: str = ""
) -> tuple[str, bool]:
    """The dock's line for a detection that found something: the count, the values used (the
    chosen ones marked auto), the core's notes on a stack, the layers hidden for it, the
    self-check's notes (a masked scale bar) and its warnings in the dock's words; True when
    there are warnings (shown amber; a note alone is not). ``physical``: the calibrated
    image's pixel size (:func:`physical_note`), after the values used."""
    mode = params["mode"]
    used = det.params if isinstance(det.params, dict) else {}
    frames = used.get("n_frames") if used.get("is_stack") else None
    where = f" in {frames} frames" if frames else ""
    chosen = _chosen(det.params, params)
    if preparation.get("invert"):  # the polarity as the layer shows it
        chosen = re.sub(
            r"\b(bright|dark) (atoms|particles)\b",
            lambda m: f"{'dark' if m.group(1) == 'bright' else 'bright'} {m.group(2)}",
            chosen,
        )
    message = f"{len(det.coords)} {mode} found{where}; {chosen}{physical}"
    from napari_ivae.core.detection.detections import stack_notes

    note = stack_notes(det.message)  # the count and spacing are said above
    if note:  # the core names its parameters; here they are the controls
        message = f"{message}. {widget_spelling(note)}"
    if hidden:
        message += f" ({', '.join(repr(name) for name in hidden)} hidden)"
    for info in det.quality.get("notes", []):  # information, not a doubt: not amber
        info = _as_shown_inverted(info) if preparation.get("invert") else info
        message = f"{message}. {widget_spelling(info[0].upper() + info[1:])}"
    warnings = _checks(det, params, preparation)
    if warnings:
        return f"{message}. Check: {' '.join(warnings)}", True
    return message, False


def empty_message(det: Any, params: dict, preparation: dict) -> str:
    """The dock's line for a detection that found nothing: the core's reason, then the
    self-check's warnings and, for atoms at an automatic spacing where no lattice was found,
    the hint to look for particles (a cryo-EM micrograph, a film of particles)."""
    reason = widget_spelling(det.message) if det.message else f"no {params['mode']} found"
    warnings = _checks(det, params, preparation)
    return f"{reason} Check: {' '.join(warnings)}" if warnings else reason


def _checks(det: Any, params: dict, preparation: dict) -> list[str]:
    """The self-check's warnings in the dock's words, and the particles hint where they say
    that an atoms run at an automatic spacing found no lattice."""
    quality = det.quality if isinstance(det.quality, dict) else {}
    found = list(quality.get("warnings", []))
    if preparation.get("invert"):  # the spots as the layer shows them
        found = [_as_shown_inverted(w) for w in found]
    warnings = [widget_spelling(w[0].upper() + w[1:] + ".") for w in found]
    from napari_ivae.core.detection.quality import suggests_particles

    auto_atoms = params["mode"] == "atoms" and params["spacing"] is None
    if auto_atoms and suggests_particles(found):
        warnings.append(PARTICLES_HINT)
    return warnings


def physical_note(layer: Any, used: dict, mode: str) -> str:
    """The pixel size of a calibrated image layer (a micrograph opened in nm) and, for atoms,
    the spacing in that unit, e.g. ``"; 1 px = 0.0195 nm, spacing 0.372 nm"``; ``""`` for an
    image in pixels or with unequal row and column pixels."""
    # napari's units are pint's: "~" gives their symbols (nm, µm, Å)
    units = tuple(format(u, "~") for u in (getattr(layer, "units", None) or ()))
    scale = tuple(float(s) for s in getattr(layer, "scale", ())[-2:])
    if len(units) < 2 or units[-1] != units[-2] or units[-1] == "pixel":
        return ""
    if len(scale) != 2 or not np.isclose(scale[0], scale[1]) or scale[0] <= 0:
        return ""
    unit = units[-1]
    note = f"; 1 px = {scale[0]:.4g} {unit}"
    spacing = used.get("spacing") if mode == "atoms" else None
    if spacing:
        note += f", spacing {float(spacing) * scale[0]:.4g} {unit}"
    return note
