"""Zone slugs of the body frame (contract section 1), without any geometry.

The zone map (``domain/zones.py``) gives these slugs their regions; this small module only
names them, so that screening rules can be validated without importing the geometry.
"""

from __future__ import annotations

__all__ = ["ENDANGERMENT_ZONE_SLUGS", "ZONE_SLUGS", "expand_zone_pattern"]

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
