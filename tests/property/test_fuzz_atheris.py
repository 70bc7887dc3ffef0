"""Coverage-guided fuzzing of the importers and the intake parser with atheris (issue 16).

The harness (``fuzz_atheris_harness.py``) runs in a subprocess for a fixed number of inputs
with a fixed seed, starting from a corpus of the real vendor files' first kilobytes and the
example intakes. A crash (any exception other than a one-line ``InputError``) fails the test
with libFuzzer's report.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS = 2000
MAX_LEN = 2048
SEEDS = [
    "vendor-exports/fscan_testL.asf",
    "vendor-exports/iscan_test.csv",
    "vendor-exports/xsensor_data.csv",
    "vendor-exports/pliance_test.asc",
    "vendor-exports/pedar_example.asc",
    "moticon/230927_102114.txt",
    "popu/tactilus/prone1_0.json",
]


def test_coverage_guided_inputs_import_or_are_refused_in_one_line(shared_data, tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for k, name in enumerate(SEEDS):
        (corpus / f"seed-{k}").write_bytes((shared_data / name).read_bytes()[:MAX_LEN])
    examples = HERE.parents[1] / "examples" / "intakes"
    for p in sorted(examples.glob("*.json"))[:5]:
        (corpus / p.name).write_bytes(p.read_bytes()[:MAX_LEN])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parents[1] / "src"), *filter(None, [env.get("PYTHONPATH")])]
    )
    r = subprocess.run(
        [
            sys.executable,
            str(HERE / "fuzz_atheris_harness.py"),
            f"-runs={RUNS}",
            "-seed=1",
            f"-max_len={MAX_LEN}",
            # libFuzzer reads the peak RSS (getrusage), which a child inherits from the pytest
            # process that forked it: after a long suite that is gigabytes it never used. So
            # no RSS limit; one allocation of 2 GB or more still fails the run.
            "-rss_limit_mb=0",
            "-malloc_limit_mb=2048",
            f"-artifact_prefix={tmp_path}/",
            str(corpus),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"Done {RUNS} runs" in r.stderr
