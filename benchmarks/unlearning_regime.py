"""The frontier of the unlearning regime: which settings keep the paper's premises.

Prepares one project copy (data_prep and staged_finetune of every replicate, once),
then reruns unlearn + evaluate for each candidate setting and prints, per
candidate, the worst cell of every target of ``report.regime`` (forget label
above the uniform per-token level, GA's per-token forget score at position 1,
facts and math utility). The verdicts are not computed: the regime is chosen
from these premises alone, before any verdict is read.

    python benchmarks/unlearning_regime.py                       # the default frontier
    python benchmarks/unlearning_regime.py --method ga --candidate lr=4e-4,batch_size=16,steps=18
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml
from transformers import AutoTokenizer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from path_unlearning.report.regime import regime_targets  # noqa: E402

RUNNER = "path_unlearning.runner.WorkerPoolRunner"
# lr at the stage scale (1.5e-4 = finetune.lr, 4e-4 = the forget stage's lr) and
# above it; one epoch of the 300-row forget set at batch 16 (18 steps) or 32 (9).
DEFAULT_CANDIDATES = [
    "lr=1.5e-4,batch_size=16,steps=18",
    "lr=4e-4,batch_size=16,steps=18",
    "lr=1e-3,batch_size=16,steps=18",
    "lr=4e-4,batch_size=32,steps=9",
    "lr=2e-3,batch_size=32,steps=20",  # the previous default's rate and length, no clipping
]


def kedro(project: Path, *args: str) -> float:
    """Run ``kedro run`` in ``project``; return its wall time."""
    start = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    subprocess.run(
        [str(Path(sys.executable).with_name("kedro")), "run", f"--runner={RUNNER}", *args],
        cwd=project, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.perf_counter() - start


def latest(folder: Path) -> Path:
    """The newest version folder of a versioned dataset."""
    return max(p for p in folder.iterdir() if p.is_dir())


def vocab_size(project: Path) -> int:
    return len(
        AutoTokenizer.from_pretrained(latest(project / "data/06_models/tokenizer") / "tokenizer")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidate", action="append", help="key=value,... of unlearn")
    parser.add_argument("--method", default="ga", help="unlearning method of the frontier")
    parser.add_argument("--project", type=Path, help="a prepared copy to reuse")
    args = parser.parse_args()
    project = args.project or Path(tempfile.mkdtemp(prefix="regime-"))
    if args.project is None:
        shutil.copytree(ROOT, project, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".venv", ".git", "data", "build"))  # fmt: skip
        shutil.copytree(ROOT / "data", project / "data", ignore=lambda d, f: [
            x for x in f if not x.startswith(".") and (Path(d) / x).is_file()])  # fmt: skip
        seconds = kedro(project, "--pipelines=data_prep,staged_finetune")
        print(f"prepared {project} in {seconds:.0f} s")
    targets = yaml.safe_load((ROOT / "conf/base/parameters_report.yml").read_text())
    targets = targets["report"]["regime"]
    v = vocab_size(project)
    rows = []
    for candidate in args.candidate or DEFAULT_CANDIDATES:
        overrides = ",".join(f"unlearn.{kv}" for kv in candidate.split(","))
        seconds = kedro(
            project, "--pipelines=unlearn,evaluate", f"--params=method={args.method},{overrides}"
        )
        scores_dir = latest(project / "data/07_model_output/evaluation_scores.parquet")
        scores = pd.read_parquet(scores_dir / "evaluation_scores.parquet")
        table = regime_targets(scores, v, targets).head(4)  # the targets after unlearning
        row = {"candidate": candidate, "seconds": round(seconds)}
        for rec in table.to_dict("records"):
            short = rec["target"].split(" >=")[0].split(" (")[0]
            row[short] = f"{rec['worst']:.2f} ({rec['where']}) {'ok' if rec['holds'] else 'FAIL'}"
        rows.append(row)
        print(pd.DataFrame([row]).to_string(index=False), flush=True)
    print()
    print(f"method {args.method}, vocabulary {v} (uniform per-token level {-math.log(v):.2f})")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
