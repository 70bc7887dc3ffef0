"""CPU per live session: `ashiguard serve` with N simulated 100 Hz sessions, each watched by a
WebSocket client (as `ashiguard bench live` does), the CPU time of the server and of its child
processes (session hosts) over a window, per session.

    PYTHONPATH=src python scripts/live_cpu.py 16 [WINDOW_S]

CPU time (user + system from /proc, via psutil), not wall clock: on a shared machine it is the
comparable number. Prints the load average too; alarm latencies are printed for information only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil

from ashiguard.bench.live import (
    SCENARIOS,
    _Api,
    _end,
    _env,
    _free_port,
    _spawn,
    _view_gaps,
    _watch_all,
)
from ashiguard.bench.web import seed_clinic


def main() -> None:
    n = int(sys.argv[1])
    window = float(sys.argv[2]) if len(sys.argv) > 2 else 12.0
    with tempfile.TemporaryDirectory(prefix="ashiguard-live-cpu-") as tmp:
        data = Path(tmp)
        clients = seed_clinic(data, 0, n)
        port = _free_port()
        server = _spawn(["serve", "--data-dir", tmp, "--port", str(port)], _env(), data / "log")
        api = _Api(f"http://127.0.0.1:{port}")
        try:
            kinds = [SCENARIOS[i % len(SCENARIOS)] for i in range(n)]
            with ThreadPoolExecutor(4) as pool:
                sids = list(pool.map(api.start, clients, kinds))
            time.sleep(2.0)
            sp = psutil.Process(server.pid)

            def cpu() -> tuple[float, float, float]:
                kids = 0.0
                for k in sp.children(recursive=True):
                    try:
                        t = k.cpu_times()
                        kids += t.user + t.system
                    except psutil.Error:
                        pass
                t = sp.cpu_times()
                return t.user + t.system, kids, time.monotonic()

            res: list = []
            ws = f"ws://127.0.0.1:{port}"
            targets = [(f"{ws}/sessions/{sid}/ws", api.token) for sid in sids]
            th = threading.Thread(
                target=lambda: res.extend(asyncio.run(_watch_all(targets, window)))
            )
            th.start()
            time.sleep(1.2)
            a, load_a = cpu(), os.getloadavg()[0]
            time.sleep(window - 1.5)
            b, load_b = cpu(), os.getloadavg()[0]
            th.join()
            with ThreadPoolExecutor(4) as pool:
                list(pool.map(api.stop, sids))
        finally:
            api.close()
            _end([server])
    w = b[2] - a[2]
    srv, kids = (b[0] - a[0]) / w * 100, (b[1] - a[1]) / w * 100
    lat = [x for r in res for x in r.get("latencies", [])]
    print(f"{n} sessions, {w:.1f} s, load average {load_a:.1f} -> {load_b:.1f}")
    print(f"serve itself        {srv:6.1f} % of a core = {srv / n:.2f} % per session")
    print(f"its child processes {kids:6.1f} % of a core = {kids / n:.2f} % per session")
    print(f"together                           {(srv + kids) / n:.2f} % per session")
    gaps = sum(_view_gaps(r) for r in res)
    p99 = f"{np.percentile(lat, 99):.1f} ms" if lat else "-"
    print(f"view gaps {gaps}, {len(lat)} alarms, alarm p99 {p99} (information only)")


if __name__ == "__main__":
    main()
