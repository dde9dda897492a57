"""Do the headline verdicts survive a rounding-level perturbation?

Runs the default experiment twice from empty projects on this machine:

* A: ``kedro run`` as a user types it (worker processes, one torch thread each);
* B: ``kedro run --runner=SequentialRunner --params=torch_threads=2``: the same
  computation with matrix products split over two threads, which sums in another
  order and so rounds differently (a change of processor does the same).

and prints every verdict of both runs side by side, headline rows first, with the
per-replicate agreement each states. Every headline verdict must agree.

    .venv/bin/python benchmarks/robustness.py [--keep] [extra kedro run args...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import project_runs as pr

VERDICTS = "data/08_reporting/verdicts.csv"
RUNS = {
    "A: default (1 thread per worker)": [],
    "B: sequential, 2 torch threads": ["--runner=SequentialRunner", "--params=torch_threads=2"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the project copies")
    args, extra = parser.parse_known_args()
    where = Path(tempfile.mkdtemp(prefix="robustness-"))
    tables, times = {}, {}
    for i, (name, flags) in enumerate(RUNS.items()):
        project = pr.copy_tree(where / f"run{i}")
        times[name] = pr.run(project, *flags, *extra)
        tables[name] = pr.latest_table(project, VERDICTS).set_index(["verdict", "scope"])
    a, b = tables.values()
    side = pd.DataFrame({
        "A holds": a["holds"], "B holds": b["holds"].reindex(a.index),
        "A p": a["p_value"], "B p": b["p_value"].reindex(a.index),
    })  # fmt: skip
    side["agree"] = side["A holds"].astype(str) == side["B holds"].astype(str)
    head = side.xs("all", level="scope")
    pd.set_option("display.width", 200)
    for name, seconds in times.items():
        print(f"{name}: {seconds:.0f} s")
    print("\nHeadline verdicts:\n" + head.to_string())
    print("\nAll rows:\n" + side.to_string())
    for name, table in tables.items():
        print(f"\n{name}, headline details:")
        for (verdict, scope), rec in table.iterrows():
            if scope == "all":
                print(f"- {verdict}: {rec['detail']}")
    agree = int(head["agree"].sum())
    print(f"\n{agree} of {len(head)} headline verdicts agree; "
          f"{int(side['agree'].sum())} of {len(side)} rows")  # fmt: skip
    pr.finish(where, args.keep)


if __name__ == "__main__":
    main()
