"""The messages of an atom detection: notes appended to it, and why a result is empty.

:func:`with_note` appends a note (peaks left outside the crystalline region,
:func:`outside_note`; a sub-lattice; a levelled scan, :func:`levelled_note`) to a result's message;
:func:`empty_reason` says which step left no atom, from the per-frame counts
(:func:`summed_counts` over a stack's frames). :mod:`~napari_ivae.core.detection.atoms`, the
chunked and the streamed paths share them.
"""

from __future__ import annotations

LEVELLED_NOTE = (
    "the scan lines carry offsets of their own (a scanning-probe topograph): the line offsets, "
    "the plane's tilt and the step edges were taken out before the search (a flatten mode "
    "given is used instead)"
)
TERRACES_NOTE = (
    "the frame is a lattice on {terraces} terraces (a scanning-probe topograph): the plane's "
    "tilt and the step edges were taken out before the search (a flatten mode given is used "
    "instead)"
)


def with_note(message: str, note: str) -> str:
    """``message`` with ``note`` appended ("; "), or ``note`` as a sentence when it is empty."""
    return f"{message}; {note}" if message else note[0].upper() + note[1:]


def levelled_note(found: dict) -> str:
    """The note for a frame levelled as a scanning-probe topograph (``found``: what
    :func:`~napari_ivae.core.detection.scan_levelling.scan_levelled` took out)."""
    if "terraces" in found:
        return TERRACES_NOTE.format(terraces=found["terraces"])
    return LEVELLED_NOTE


def outside_note(count: int) -> str:
    """The note for ``count`` peaks left out outside the crystalline region."""
    return (
        f"{count} peaks outside the crystalline region were left out "
        "(crystal_only=False keeps them)"
    )


def summed_counts(counts: list[dict]) -> dict:
    """The frames' counts of each step (``frame_atoms``' counts), summed over the frames."""
    keys = (
        "candidates",
        "excluded",
        "outside_crystal",
        "below_threshold",
        "merged",
        "at_border",
        "found",
    )
    return {k: sum(c[k] for c in counts) for k in keys}


def empty_reason(counts: dict, params: dict) -> str:
    """Why no atom was found: the first step that left none, with the spacing and the
    parameter to try (``counts``: a frame's or the frames' summed counts; ``params``: the
    resolved parameters)."""
    spacing = f"spacing {params['spacing']:.1f} px ({params['spacing_source']})"
    if counts["candidates"] == 0:
        return f"No atoms found: the smoothed image has no local maximum ({spacing})."
    masked = counts["excluded"] + counts["outside_crystal"]
    if masked == counts["candidates"]:
        return (
            f"No atoms found: of {counts['candidates']} peaks, {counts['excluded']} lie in "
            f"the excluded mask and {counts['outside_crystal']} outside the crystalline "
            f"region ({spacing}); crystal_only=False keeps the latter."
        )
    if counts["below_threshold"] == counts["candidates"] - masked:
        if params["threshold"] == "auto":  # the cut is a noise bound: say so plainly
            return (
                f"No atoms found: none of the {counts['below_threshold']} peaks stands out "
                f"from the noise (automatic threshold; {spacing})."
            )
        return (
            f"No atoms found: all {counts['candidates']} peaks have too little contrast "
            f"(threshold {params['threshold']}; {spacing}). Lower the threshold, or check "
            "the spacing and whether atoms are dark (invert)."
        )
    return (
        f"No atoms found: {counts['at_border']} peaks lie within the {params['border']:.1f} px "
        f"border ({spacing}); reduce the border."
    )


__all__ = [
    "LEVELLED_NOTE",
    "TERRACES_NOTE",
    "empty_reason",
    "levelled_note",
    "outside_note",
    "summed_counts",
    "with_note",
]
