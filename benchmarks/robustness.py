"""Do the headline verdicts survive a rounding-level perturbation?

Runs the default experiment twice from empty projects on this machine:

* A: ``kedro run`` as a user types it (worker processes, one torch thread each);
* B: ``kedro run --runner=SequentialRunner --params=torch_threads=2``: the same
  computation with matrix products split over two threads, which sums in another
  order and so rounds differently (a change of processor does the same).

and prints every verdict of both runs side by side, headline rows first, with the
per-replicate agreement each states. Every headline verdict must agree. The verdicts
of the report's "Benchmark metrics by path" section are compared the same way (their
headline rows: one per tested metric, and the relearning ones with scope ``all``).

    .venv/bin/python benchmarks/robustness.py [--keep] [extra kedro run args...]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
import project_runs as pr

VERDICTS = "data/08_reporting/verdicts.csv"
BENCHMARK_VERDICTS = "data/08_reporting/benchmark_verdicts.csv"
RUNS = {
    "A: default (1 thread per worker)": [],
    "B: sequential, 2 torch threads": ["--runner=SequentialRunner", "--params=torch_threads=2"],
}


def side_by_side(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Both runs' ``holds`` and p-values per (verdict, scope) of run A, and whether they agree."""
    side = pd.DataFrame({
        "A holds": a["holds"], "B holds": b["holds"].reindex(a.index),
        "A p": a["p_value"], "B p": b["p_value"].reindex(a.index),
    })  # fmt: skip
    side["agree"] = side["A holds"].astype(str) == side["B holds"].astype(str)
    return side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the project copies")
    args, extra = parser.parse_known_args()
    where = Path(tempfile.mkdtemp(prefix="robustness-"))
    tables, benchmark, times = {}, {}, {}
    for i, (name, flags) in enumerate(RUNS.items()):
        project = pr.copy_tree(where / f"run{i}")
        times[name] = pr.run(project, *flags, *extra)
        tables[name] = pr.latest_table(project, VERDICTS).set_index(["verdict", "scope"])
        benchmark[name] = pr.latest_table(project, BENCHMARK_VERDICTS).set_index(
            ["verdict", "scope"]
        )
    side = side_by_side(*tables.values())
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
    bench = side_by_side(*benchmark.values())
    # The section's headline rows: scope "all", and one path-dependence row per metric.
    bench_head = bench[
        [
            scope == "all" or (v == "path_dependence" and "/" not in scope)
            for v, scope in bench.index
        ]
    ]
    print("\nBenchmark metrics by path, headline verdicts:\n" + bench_head.to_string())
    for name, table in benchmark.items():
        print(f"\n{name}, benchmark details:")
        for (verdict, scope), rec in table.loc[bench_head.index].iterrows():
            print(f"- {verdict} ({scope}): {rec['detail']}")
    agree = int(head["agree"].sum())
    print(f"\n{agree} of {len(head)} headline verdicts agree; "
          f"{int(side['agree'].sum())} of {len(side)} rows; benchmark section: "
          f"{int(bench_head['agree'].sum())} of {len(bench_head)} headline verdicts agree")  # fmt: skip
    pr.finish(where, args.keep)


if __name__ == "__main__":
    main()
