"""Jinja2 templates shipped in the package, with the logged-in user and CSRF token in scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from ashiguard.domain.screening import rules_version_label
from ashiguard.domain.zone_names import ZONE_SLUGS, zone_words
from ashiguard.entrypoints.web.body_svg import OUTLINE, ZONE_SHAPES

__all__ = ["DECISION_GUIDANCE", "DECISION_LABELS", "TREATABLE", "render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.auto_reload = False  # shipped templates do not change under a running server

DECISION_LABELS = {
    "cleared": "Cleared",
    "modify": "Modify",
    "defer": "Defer",
    "clearance_required": "Clearance required",
    "decline": "Decline",
}
TREATABLE = ("cleared", "modify")
"""The decisions under which a barefoot session may start (the readiness gate's rule)."""

DECISION_GUIDANCE = {
    "cleared": (
        "Barefoot work as usual, within the standard zone limits.",
        "Plan the session and start it.",
    ),
    "modify": (
        "Barefoot work is possible with the changes listed below (zones to avoid, lighter "
        "load or pressure).",
        "Go through the restrictions with the client, then plan and start the session.",
    ),
    "defer": (
        "No barefoot session today: something in today's intake has to settle or be "
        "measured first.",
        "Tell the client why (see below), book a later visit, and fill a new intake version "
        "then. A seated or hands-on session may still be offered.",
    ),
    "clearance_required": (
        "No barefoot session until a physician has cleared the client for deep pressure.",
        "Ask the client for a clearance letter from their physician that names barefoot or "
        "deep-pressure massage, then fill a new intake version.",
    ),
    "decline": (
        "Barefoot massage is not suitable for this client: the risk cannot be made "
        "acceptable by lighter work.",
        "Explain why (see below) and offer another kind of session, or refer the client "
        "to their physician.",
    ),
}
"""What each screening decision means for the client, and what the clinic does next."""

templates.env.globals["DECISION_LABELS"] = DECISION_LABELS
templates.env.globals["DECISION_GUIDANCE"] = DECISION_GUIDANCE
templates.env.globals["TREATABLE"] = TREATABLE
templates.env.filters["zone_words"] = zone_words
templates.env.globals["BODY_OUTLINE"] = OUTLINE
templates.env.globals["ZONE_SHAPES"] = ZONE_SHAPES
templates.env.globals["ZONE_SLUGS"] = ZONE_SLUGS
templates.env.globals["zone_words"] = zone_words
templates.env.filters["zip_codes"] = lambda codes: [(c, c.replace("_", " ")) for c in codes]
templates.env.filters["rules_label"] = rules_version_label
templates.env.filters["mmss"] = lambda s: (
    f"{int(s or 0) // 60:02d}:{int(s or 0) % 60:02d}"
)  # stream seconds as the live page's timer shows them
templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False)


def render(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    p = getattr(request.state, "principal", None)
    full = {"user": p.user if p else None, "csrf": p.csrf if p else "", **ctx}
    return templates.TemplateResponse(request, name, full, status_code=status_code)
