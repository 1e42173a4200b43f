"""Run every benchmark script in this folder, one after the other."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here))  # the scripts import their shared helpers from this folder
for script in sorted(here.glob("bench_*.py")):
    if len(sys.argv) > 1 and not any(arg in script.name for arg in sys.argv[1:]):
        continue
    print(f"== {script.name}")
    runpy.run_path(str(script), run_name="__main__")
