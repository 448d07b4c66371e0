"""Prints what bench/load/gcprobe/sitecustomize.py recorded: `python -m bench.load.gcprobe DIR`."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(directory: str) -> None:
    for path in sorted(Path(directory).glob("gc-*.json")):
        report = json.loads(path.read_text())
        command = " ".join(report["argv"])[:60]
        generations = "; ".join(f"gen {g}: {s['count']} in {s['total_ms']} ms, longest "
                                f"{s['max_ms']} ms" for g, s in report["generations"].items())
        print(f"{path.stem} {command}\n  {generations}\n  full collections (ms): "
              f"{report['full_collections_ms']}")


if __name__ == "__main__":
    main(sys.argv[1])
