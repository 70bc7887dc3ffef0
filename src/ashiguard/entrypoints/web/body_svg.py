"""A schematic posterior body (prone client seen from above) with one clickable shape per zone.

Used by the intake form's pain-site diagram. Coordinates are SVG user units in a 240 x 560
viewBox: a prone client seen from above, head at the top, so the client's left is on the
viewer's left (as in the zone drawings of ``adapters/drawing.py``).
"""

from __future__ import annotations

__all__ = ["OUTLINE", "ZONE_SHAPES"]

# zone slug -> (x, y, width, height) in the viewBox; x grows toward the client's right.
ZONE_SHAPES: dict[str, tuple[float, float, float, float]] = {
    "neck": (106, 52, 28, 26),
    "upper_trapezius_right": (134, 78, 42, 22),
    "upper_trapezius_left": (64, 78, 42, 22),
    "spine_cervical": (114, 78, 12, 22),
    "scapular_right": (138, 102, 40, 58),
    "scapular_left": (62, 102, 40, 58),
    "spine_thoracic": (114, 100, 12, 96),
    "erector_thoracic_right": (126, 100, 12, 96),
    "erector_thoracic_left": (102, 100, 12, 96),
    "kidney_right": (138, 176, 24, 40),
    "kidney_left": (78, 176, 24, 40),
    "spine_lumbar": (114, 196, 12, 50),
    "erector_lumbar_right": (126, 196, 12, 50),
    "erector_lumbar_left": (102, 196, 12, 50),
    "sacrum": (108, 246, 24, 30),
    "gluteal_right": (132, 246, 34, 50),
    "gluteal_left": (74, 246, 34, 50),
    "hamstring_right": (126, 298, 34, 92),
    "hamstring_left": (80, 298, 34, 92),
    "popliteal_right": (128, 392, 28, 20),
    "popliteal_left": (84, 392, 28, 20),
    "calf_right": (128, 414, 26, 100),
    "calf_left": (86, 414, 26, 100),
}

OUTLINE = (
    "M120 8 C104 8 98 22 100 38 C101 48 106 54 108 56 L106 76 C86 80 64 82 58 96 "
    "C52 120 56 170 64 200 C68 214 70 226 72 240 C70 262 72 290 78 310 L80 390 "
    "C80 420 84 470 86 520 C88 540 108 542 112 528 L116 400 L118 300 L122 300 L124 400 "
    "L128 528 C132 542 152 540 154 520 C156 470 160 420 160 390 L162 310 C168 290 170 262 "
    "168 240 C170 226 172 214 176 200 C184 170 188 120 182 96 C176 82 154 80 134 76 L132 56 "
    "C134 54 139 48 140 38 C142 22 136 8 120 8 Z"
)
