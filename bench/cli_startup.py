"""CLI start-up: how long ``omniroute --help``, ``--version`` and ``tickets list`` take.

What is measured
    Wall-clock time of each command as a fresh process (``python -m`` is avoided: the
    console script is run as an operator runs it), ``--runs`` times after one warm-up
    run that fills the bytecode caches; printed as min / median / max. ``tickets list``
    runs against a fresh, migrated SQLite store with no tickets, so the figure is
    start-up, not query time. Also printed: the median CPU time (user + system) of a run
    and the cumulative import time Python reports (``-X importtime``), both less noisy
    than wall time on a busy machine. The target is under 0.5 s for both commands.

Run from the repository root:
    .venv/bin/python bench/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["--version"], ["tickets", "list"])
TARGET_SECONDS = 0.5


def omniroute() -> list[str]:
    script = Path(sys.executable).with_name("omniroute")
    if script.exists():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "from workers.cli import main; main()"]


def run(
    args: list[str], env: dict[str, str], extra: list[str] | None = None
) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stderr of one run."""
    command = omniroute()
    command[1:1] = extra or []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*command, *args], env=env, capture_output=True, text=True, check=True, cwd=env["HOME"]
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stderr


def import_seconds(stderr: str) -> float:
    """Sum of the top-level cumulative import times ``-X importtime`` printed."""
    total = 0
    for line in stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
        if match and not match.group(2).startswith(" "):
            total += int(match.group(1))
    return total / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMNIROUTE_")}
        env.update(
            HOME=home,
            OMNIROUTE_DATA_DIR=str(Path(home) / "data"),
            PYTHONPATH=os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        )
        run(["db", "upgrade"], env)
        print(
            f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, python {sys.version.split()[0]}"
        )
        worst = 0.0
        for args in COMMANDS:
            run(args, env)  # warm-up: bytecode caches
            runs = [run(args, env) for _ in range(options.runs)]
            times = [wall for wall, _, _ in runs]
            cpu = statistics.median(c for _, c, _ in runs)
            _, _, trace = run(args, env, ["-X", "importtime"])
            median = statistics.median(times)
            worst = max(worst, median)
            print(
                f"omniroute {' '.join(args):<14} wall min {min(times):.3f} s  "
                f"median {median:.3f} s  max {max(times):.3f} s  "
                f"cpu median {cpu:.3f} s  imports {import_seconds(trace):.3f} s"
            )
    verdict = "within" if worst < TARGET_SECONDS else "over"
    print(f"slowest median {worst:.3f} s: {verdict} the {TARGET_SECONDS} s target")
    return 0 if worst < TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
