"""The default experiment's wall time against the single-seed default it replaced.

Both run from empty projects, one after the other on this machine:

* before: commit 48ef48d (one seed, one shared base model, 20 unlearning steps),
  ``kedro run`` with the sequential runner (its default then);
* now: the working tree's ``kedro run`` (3 replicates, each with its own base
  model; the worker-pool runner by default on more than one core).

Prints both times, their ratio (target <= 1) and each run's node count.

    .venv/bin/python benchmarks/default_time.py [--before REF] [--keep]
"""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import project_runs as pr

BEFORE = "48ef48d"


def completed(project: Path) -> str:
    found = re.findall(
        r"Completed (\d+) out of (\d+) tasks", (project / "kedro_run.log").read_text()
    )
    return f"{found[-1][0]} nodes" if found else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE, help="the commit to compare with")
    parser.add_argument("--keep", action="store_true", help="keep the project copies")
    args = parser.parse_args()
    where = Path(tempfile.mkdtemp(prefix="default-time-"))
    before = pr.copy_tree(where / "before", args.before)
    now = pr.copy_tree(where / "now")
    t_before = pr.run(before)
    t_now = pr.run(now)
    print(f"before ({args.before}, 1 seed, sequential): {t_before:7.1f} s  ({completed(before)})")
    print(f"now (3 replicates, default runner):      {t_now:7.1f} s  ({completed(now)})")
    print(f"ratio now / before: {t_now / t_before:.3f} (target <= 1)")
    pr.finish(where, args.keep)


if __name__ == "__main__":
    main()
