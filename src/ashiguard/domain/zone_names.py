"""Zone slugs of the body frame (contract section 1), without any geometry.

The zone map (``domain/zones.py``) gives these slugs their regions; this small module only
names them, so that screening rules can be validated without importing the geometry.
"""

from __future__ import annotations

__all__ = [
    "ENDANGERMENT_ZONE_SLUGS",
    "ZONE_SLUGS",
    "ZONE_WORDS",
    "expand_zone_pattern",
    "zone_words",
]

ZONE_SLUGS: tuple[str, ...] = (
    "spine_cervical",
    "spine_thoracic",
    "spine_lumbar",
    "sacrum",
    "erector_thoracic_left",
    "erector_thoracic_right",
    "erector_lumbar_left",
    "erector_lumbar_right",
    "kidney_left",
    "kidney_right",
    "scapular_left",
    "scapular_right",
    "upper_trapezius_left",
    "upper_trapezius_right",
    "neck",
    "gluteal_left",
    "gluteal_right",
    "hamstring_left",
    "hamstring_right",
    "popliteal_left",
    "popliteal_right",
    "calf_left",
    "calf_right",
)

ENDANGERMENT_ZONE_SLUGS: frozenset[str] = frozenset(
    z
    for z in ZONE_SLUGS
    if z.startswith(("spine_", "kidney_", "popliteal_")) or z in ("sacrum", "neck")
)


ZONE_WORDS: dict[str, str] = {
    "spine_cervical": "neck spine",
    "spine_thoracic": "upper-back spine",
    "spine_lumbar": "lower-back spine",
    "sacrum": "sacrum (tailbone plate)",
    "erector_thoracic_left": "left upper-back muscles",
    "erector_thoracic_right": "right upper-back muscles",
    "erector_lumbar_left": "left lower-back muscles",
    "erector_lumbar_right": "right lower-back muscles",
    "kidney_left": "left kidney area",
    "kidney_right": "right kidney area",
    "scapular_left": "left shoulder blade",
    "scapular_right": "right shoulder blade",
    "upper_trapezius_left": "left upper shoulder",
    "upper_trapezius_right": "right upper shoulder",
    "neck": "neck",
    "gluteal_left": "left buttock",
    "gluteal_right": "right buttock",
    "hamstring_left": "back of the left thigh",
    "hamstring_right": "back of the right thigh",
    "popliteal_left": "back of the left knee",
    "popliteal_right": "back of the right knee",
    "calf_left": "left calf",
    "calf_right": "right calf",
}
"""Each zone in the clinic's words (pages, reports, log lines); slugs stay in the API."""


def zone_words(zone: str | None) -> str:
    """A zone in the clinic's words ("left kidney area"); "the body" for no zone."""
    if zone is None:
        return "the body"
    return ZONE_WORDS.get(zone, zone.replace("_", " "))


def expand_zone_pattern(pattern: str) -> tuple[str, ...]:
    """Expand ``spine_*`` style patterns into contract slugs.

    Parameters
    ----------
    pattern : str
        A slug (``kidney_left``) or a prefix ending in ``*`` (``kidney_*``, ``spine_*``).

    Returns
    -------
    tuple of str
        The matching slugs in contract order; empty when nothing matches.
    """
    if pattern.endswith("*"):
        prefix = pattern[:-1]
        return tuple(z for z in ZONE_SLUGS if z.startswith(prefix))
    return (pattern,) if pattern in ZONE_SLUGS else ()
