"""Jinja2 templates shipped in the package, with the logged-in user and CSRF token in scope."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from ashiguard.domain.screening import rules_version_label
from ashiguard.entrypoints.web.body_svg import OUTLINE, ZONE_SHAPES

__all__ = ["DECISION_LABELS", "render", "templates"]

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
templates.env.auto_reload = False  # shipped templates do not change under a running server

DECISION_LABELS = {
    "cleared": "Cleared",
    "modify": "Modify",
    "defer": "Defer",
    "clearance_required": "Clearance required",
    "decline": "Decline",
}
templates.env.globals["DECISION_LABELS"] = DECISION_LABELS
templates.env.globals["BODY_OUTLINE"] = OUTLINE
templates.env.globals["ZONE_SHAPES"] = ZONE_SHAPES
templates.env.filters["zip_codes"] = lambda codes: [(c, c.replace("_", " ")) for c in codes]
templates.env.filters["rules_label"] = rules_version_label
templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False)


def render(request: Request, name: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    p = getattr(request.state, "principal", None)
    full = {"user": p.user if p else None, "csrf": p.csrf if p else "", **ctx}
    return templates.TemplateResponse(request, name, full, status_code=status_code)
