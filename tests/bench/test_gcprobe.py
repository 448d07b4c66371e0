"""bench/load/gcprobe records the garbage collector's pauses of a process it is loaded into."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROBE = Path(__file__).resolve().parents[2] / "bench" / "load" / "gcprobe"


def test_a_process_s_full_collections_are_recorded(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROBE), "TMC_GC_PROBE": str(tmp_path)}
    subprocess.run([sys.executable, "-c", "import gc; gc.collect(); gc.collect()"],
                   env=env, check=True)
    [report] = [json.loads(p.read_text()) for p in tmp_path.glob("gc-*.json")]
    assert report["generations"]["2"]["count"] >= 2
    assert len(report["full_collections_ms"]) == report["generations"]["2"]["count"]


def test_without_the_setting_nothing_is_recorded(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TMC_GC_PROBE"} | {
        "PYTHONPATH": str(PROBE)}
    subprocess.run([sys.executable, "-c", "import gc; gc.collect()"], env=env, check=True,
                   cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []
