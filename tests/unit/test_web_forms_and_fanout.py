"""The intake form mapping and the live fan-out (thinning, never dropping alarms), no server."""

from __future__ import annotations

import asyncio
import json

import pytest

from ashiguard.adapters.broker.fanout import VIEW_BUFFER, Subscriber
from ashiguard.domain.errors import InputError
from ashiguard.domain.intake import parse_intake
from ashiguard.entrypoints.web.forms import error_field, form_to_intake, intake_to_form
from ashiguard.services.live_session import quantize


def test_error_messages_of_the_intake_parser_map_to_form_field_names():
    assert error_field("conditions[2].onset: 2027-01-01 is after the screening date") == (
        "conditions.2.onset"
    )
    assert error_field("vitals.systolic_mmhg: must be a number") == "vitals.systolic_mmhg"


def test_a_filled_form_becomes_a_valid_intake_and_back_again():
    form = {
        "date": "2026-11-24",
        "client.height_cm": "165,5",
        "client.weight_kg": "70",
        "vitals.systolic_mmhg": "150",
        "vitals.diastolic_mmhg": "95",
        "conditions.0.code": "hypertension",
        "conditions.0.controlled": "false",
        "procedures.1.code": "knee_replacement",
        "procedures.1.date": "2025-01-02",
        "procedures.1.site": "left",
        "medications.0.code": "anticoagulant",
        "pregnancy.pregnant": "no",
        "notes": " hello ",
    }
    data = form_to_intake(form, ["fever", "fever"], "c-1")
    intake = parse_intake(data)
    assert intake.client.height_cm == 165.5
    assert intake.conditions[0].controlled is False
    assert intake.procedures[0].site == "left"
    assert intake.symptoms == ("fever",)
    assert data["notes"] == "hello"
    back = intake_to_form(intake.to_json())
    assert back["conditions.0.controlled"] == "false"
    assert back["procedures.0.code"] == "knee_replacement"
    assert back["pregnancy.pregnant"] == "no"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"vitals.systolic_mmhg": "1 50"}, "vitals.systolic_mmhg: must be a number (got '1 50')"),
        ({"pregnancy.weeks": "12.5"}, "pregnancy.weeks: must be a whole number (got '12.5')"),
        (
            {"conditions.3.onset": "2020-01-01"},
            "conditions.3.code: choose a code (or clear the row)",
        ),
        (
            {"conditions.0.code": "cancer", "conditions.0.controlled": "maybe"},
            "conditions.0.controlled: must be yes, no or unknown",
        ),
    ],
)
def test_bad_form_values_are_refused_naming_the_field(form, message):
    with pytest.raises(InputError) as exc:
        form_to_intake({"date": "2026-11-24", **form}, [], "c-1")
    assert str(exc.value) == message


def test_quantized_frames_keep_missing_sensels_apart_and_scale_to_the_peak():
    import base64

    import numpy as np

    p = np.array([[0.0, 10.0], [np.nan, 254.0]], dtype=np.float32)
    data, scale, peak = quantize(p)
    q = np.frombuffer(base64.b64decode(data), dtype=np.uint8)
    assert peak == 254.0 and scale == 1.0
    assert q.tolist() == [0, 10, 255, 254]


def test_a_slow_client_skips_its_oldest_views_but_gets_every_alarm():
    async def scenario():
        sub = Subscriber(asyncio.get_running_loop())
        for i in range(VIEW_BUFFER + 3):
            sub.push(("frame", json.dumps({"seq": i})), is_view=True)
            if i in (1, 3):
                sub.push(("alarm", json.dumps({"n": i})), is_view=False)
        return await sub.next_batch(), sub.replaced

    batch, replaced = asyncio.run(scenario())
    assert [k for k, _ in batch] == ["alarm", "alarm"] + ["frame"] * VIEW_BUFFER
    frames = [json.loads(t)["seq"] for k, t in batch if k == "frame"]
    assert frames == list(range(3, VIEW_BUFFER + 3))
    assert replaced == 3
