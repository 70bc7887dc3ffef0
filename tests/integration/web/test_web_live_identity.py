"""One live-session use case: the CLI and the clinic record the same seeded source identically."""

from __future__ import annotations

import time

import h5py
import numpy as np
import pytest
from test_web_sessions import _clinic, _intake
from webhelpers import PASSWORDS

pytestmark = pytest.mark.slow


def _tree(path):
    """Every dataset (values) and every attribute of a recording, by HDF5 path."""
    out = {}
    with h5py.File(path, "r") as f:

        def visit(name, obj):
            for k, v in obj.attrs.items():
                out[f"{name}@{k}"] = v
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]

        visit("/", f)
        f.visititems(visit)
    return out


def test_the_cli_and_a_clinic_session_record_the_same_seeded_source_identically(
    as_role, app, db, settings, run_cli, tmp_path
):
    app.state.live.speed = 0.0  # as fast as the engine goes, never dropping a frame
    ids = _clinic(db)
    c = as_role("therapist")
    _intake(c, ids["client_id"])
    token = c.post(
        "/api/v1/auth/token",
        json={"username": "therapist", "password": PASSWORDS["therapist"]},
    ).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = c.post(
        "/api/v1/sessions",
        json={**ids, "source": "sim:spine", "duration_s": 3.0},
        headers=auth,
    )
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    deadline = time.monotonic() + 60
    while (t := c.get(f"/api/v1/sessions/{sid}", headers=auth).json())["status"] == "live":
        assert time.monotonic() < deadline, "the session did not end after its duration"
        time.sleep(0.1)
    assert t["error"] is None and t["frames"] == 300
    web = settings.data_dir / "recordings" / f"session-{sid:06d}.h5"

    cli = tmp_path / "cli.h5"
    # the clinic seeds a simulated session with its number and simulates the client of the
    # intake (170 cm, 70 kg) with the practitioner's mass (62 kg)
    r = run_cli(
        "record", "--source", "sim:spine", "--duration", "3", "--speed", "0",
        "--seed", str(sid), "--therapist-mass", "62", "--client-height-cm", "170",
        "--client-weight-kg", "70", "-o", cli,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    a, b = _tree(web), _tree(cli)
    assert sorted(a) == sorted(b)
    differ = [k for k in a if k != "/@started_at" and not np.array_equal(a[k], b[k])]
    assert differ == []
    assert {"mat/pressure", "mat/counter", "truth/events", "bars/force"} <= set(a)
    assert {"mat@scenario", "mat@truth_restrictions", "mat@source"} <= set(a)  # the extras
    assert a["mat/pressure"].shape == (300, 128, 48)
