"""Runs that share a project: concurrent runs, clean-up beside a live save, signals, records.

Each case works on a copy of the saved micro project (data_prep, staged_finetune,
unlearn and evaluate of BCA with GA). Two ``kedro run`` processes are started at
once exactly as a user would from two terminals; afterwards every run-index
record, every saved version and every cache entry is checked.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from safetensors.torch import load_file

from path_unlearning import live_runs
from path_unlearning import run_index as ri
from path_unlearning.errors import RunError, quoted
from path_unlearning.io.atomic import PARTIAL_SUFFIX, atomic_write
from path_unlearning.modeling.cache import CHECKSUMS, LOG_FILE, entry_fault
from tests.saved_state import QUIET_ENV, copy_saved, kedro, run_session

CACHE = Path("data/06_models/training_cache")


def _kedro_process(root: Path, *args: str) -> subprocess.Popen[str]:
    executable = Path(sys.executable).with_name("kedro")
    return subprocess.Popen(
        [str(executable), *args], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, env={**os.environ, **QUIET_ENV, "COLUMNS": "200"}, start_new_session=True,
    )  # fmt: skip


def _together(root: Path, *commands: list[str], timeout: int = 600) -> list[tuple[int, str]]:
    """Start every command at once; wait for all; (exit code, output) of each."""
    processes = [_kedro_process(root, *command) for command in commands]
    return [(p.wait(timeout), p.stdout.read()) for p in processes]


def _partials(root: Path) -> list[Path]:
    return list((root / "data").rglob(f"*{PARTIAL_SUFFIX}"))


def _records(root: Path) -> dict[str, dict]:
    return ri.by_run(ri.read_index(root / ri.RUN_INDEX))


def _version_path(root: Path, relative: str, version: str) -> Path:
    folder = root / relative
    return folder / version / folder.name


def _check_written(root: Path, record: dict, expected: dict[str, str]) -> None:
    """Each expected dataset is credited to the run, and its version loads."""
    for name, relative in expected.items():
        assert record["datasets"].get(name) == record["run_id"], (name, record["datasets"])
        path = _version_path(root, relative, record["run_id"])
        if path.suffix == ".parquet":
            assert len(pd.read_parquet(path)) > 0
        else:  # a save_pretrained folder
            weights = sorted(path.rglob("*.safetensors"))
            assert weights and all(load_file(w) for w in weights)


def _cache_entries_whole(root: Path) -> list[str]:
    entries = [p for p in (root / CACHE).iterdir() if p.is_dir() and not p.name.startswith(".")]
    entries = [p for p in entries if p.name != "set_aside"]
    assert entries
    assert all(entry_fault(p) is None for p in entries), [entry_fault(p) for p in entries]
    return [p.name for p in entries]


@pytest.mark.slow
def test_two_unlearning_runs_of_one_method_at_once(tmp_path, tmp_path_factory):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    command = ["run", "--pipeline=unlearn", "--params=path:BCA,method:ga"]
    results = _together(root, command, command)
    assert [code for code, _ in results] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]
    records = [r for r in _records(root).values() if r["pipelines"] == ["unlearn"]]
    assert len(records) == 2 and {r["status"] for r in records} == {"completed"}
    for record in records:  # each run is credited with its own versions, newest or not
        _check_written(root, record, {
            "s0.BCA.ga.unlearned": "data/06_models/unlearned/s0/BCA.ga",
            "s0.BCA.ga.trajectory": "data/07_model_output/trajectories/s0/BCA.ga.parquet",
        })  # fmt: skip
    assert not _partials(root)
    assert not list((root / "data" / live_runs.LIVE).glob("*.json"))


@pytest.mark.slow
def test_two_paths_sharing_a_prefix_train_at_once(tmp_path, tmp_path_factory):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    shutil.rmtree(root / CACHE)  # both runs must train the shared base model and stage B
    results = _together(
        root,
        ["run", "--pipeline=staged_finetune", "--params=path:BCA"],
        ["run", "--pipeline=staged_finetune", "--params=path:BAC"],
    )
    assert [code for code, _ in results] == [0, 0], results[0][1][-2000:] + results[1][1][-2000:]
    records = {r["runtime_params"]["path"]: r for r in _records(root).values()
               if r["pipelines"] == ["staged_finetune"] and r["status"] == "completed"}  # fmt: skip
    assert set(records) == {"BCA", "BAC"}
    shared = {"s0.base_model": "data/06_models/base_model/s0",
              "s0.B.adapter": "data/06_models/adapters/s0/B"}  # fmt: skip
    _check_written(
        root, records["BCA"], {**shared, "s0.BCA.adapter": "data/06_models/adapters/s0/BCA"}
    )
    _check_written(
        root, records["BAC"], {**shared, "s0.BAC.adapter": "data/06_models/adapters/s0/BAC"}
    )
    # base model, B, BC, BCA, BA, BAC: one whole entry each, however the two runs raced
    assert len(_cache_entries_whole(root)) == 6
    assert not _partials(root)
    # the shared prefix trained by either run gives the same weights (same seed, same data)
    b = [load_file(next(_version_path(root, shared["s0.B.adapter"], r["run_id"]).glob(
        "*.safetensors"))) for r in records.values()]  # fmt: skip
    assert b[0].keys() == b[1].keys() and all((b[0][k] == b[1][k]).all() for k in b[0])


CLEANER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from path_unlearning.live_runs import remove_orphans
    print(len(remove_orphans(Path(sys.argv[1]))))
""")


def test_clean_up_by_another_process_spares_a_save_in_flight(tmp_path):
    data = tmp_path / "data"
    run_id = "2026-12-03T10.00.00.000Z"
    live_runs.mark_live(data, run_id, {"started": "now"})
    target = data / "07_model_output" / "t.parquet" / run_id / "t.parquet"
    # leftovers of a killed run: a dead writer's temporary, the empty folder of a dead run
    dead = multiprocessing.get_context("fork").Process(target=lambda: None)
    dead.start()
    dead.join()
    stale = data / "x.parquet" / f".x.parquet.w{dead.pid}@{live_runs.host_name()}.1{PARTIAL_SUFFIX}"
    stale.parent.mkdir(parents=True)
    stale.write_text("half")
    empty = data / "y.parquet" / "2026-12-01T10.00.00.000Z"
    empty.mkdir(parents=True)
    seen = {}

    def write(tmp: Path) -> None:
        tmp.write_bytes(b"first half")
        done = subprocess.run([sys.executable, "-c", CLEANER, str(data)], capture_output=True,
                              text=True, check=True)  # fmt: skip
        seen["removed"] = int(done.stdout)
        seen["in_flight"] = tmp.exists()
        with tmp.open("ab") as handle:
            handle.write(b", second half")

    atomic_write(target, write)
    assert seen == {"removed": 2, "in_flight": True}
    assert target.read_bytes() == b"first half, second half"
    assert not stale.exists() and not empty.exists()
    live_runs.unmark(data, run_id)


def test_orphans_of_a_live_run_stay_and_untagged_ones_wait_for_no_live_run(tmp_path):
    data = tmp_path / "data"
    live = "2026-12-03T10.00.00.000Z"
    live_runs.mark_live(data, live, {})
    empty_live = data / "a.parquet" / live
    empty_live.mkdir(parents=True)
    old_style = data / "a.parquet" / f".a.parquet.abc123{PARTIAL_SUFFIX}"  # no writer in the name
    old_style.write_text("half")
    assert live_runs.remove_orphans(data, run_id="2026-12-03T11.00.00.000Z") == []
    assert empty_live.is_dir() and old_style.exists()
    live_runs.unmark(data, live)
    assert set(live_runs.remove_orphans(data)) == {empty_live, old_style}


def test_a_killed_run_is_recorded_by_the_next_run(tmp_path, tmp_path_factory):
    root = copy_saved(tmp_path_factory, tmp_path / "project")

    def child() -> None:  # killed (no finally runs) just before its second unlearn save
        real = os.replace

        def replace(src, dst, *args, **kwargs):
            if "unlearned/s0/BCA.ga" in str(dst):
                os._exit(9)
            return real(src, dst, *args, **kwargs)

        os.replace = replace
        run_session(root, ["unlearn"], path="BCA")

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(300)
    assert process.exitcode == 9
    [marker] = (root / "data" / live_runs.LIVE).glob("*.json")
    killed_id = marker.stem
    run_session(root, ["data_prep"])
    record = _records(root)[killed_id]
    assert record["status"] == "killed" and "ended without recording" in record["error"]
    assert record["datasets"] == {"s0.BCA.ga.trajectory": killed_id}
    assert record["runtime_params"] == {"path": "BCA"}
    assert not marker.exists() and not _partials(root)


def _wait_for(predicate, timeout: float = 300) -> None:
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "runner"),
    [(signal.SIGINT, None), (signal.SIGTERM, None), (signal.SIGTERM, "SequentialRunner")],
    ids=["sigint-group-default-runner", "sigterm-main-default-runner", "sigterm-sequential"],
)
def test_a_signal_during_stage_training_ends_in_one_line_and_a_record(
    tmp_path, tmp_path_factory, signum, runner
):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    shutil.rmtree(root / CACHE)
    args = ["run", "--pipeline=staged_finetune", "--params=path:BCA,stages.B.epochs:400"]
    process = _kedro_process(root, *args, *([f"--runner={runner}"] if runner else []))
    base = root / "data/06_models/base_model/s0"
    before = {p.name for p in base.iterdir()}
    # the base model is saved, then stage B trains (400 epochs: long enough to interrupt)
    _wait_for(lambda: {p.name for p in base.iterdir()} - before)
    time.sleep(3)
    assert process.poll() is None
    if signum == signal.SIGINT:  # Ctrl-C: the terminal signals the whole process group
        os.killpg(process.pid, signum)
    else:  # a scheduler's cancel or `kill`: the main process alone
        process.send_signal(signum)
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 128 + signum, output[-3000:]
    last = [line for line in output.splitlines() if line.strip()][-1]
    assert f"interrupted by {signal.Signals(signum).name}" in last, output[-3000:]
    assert "Traceback" not in output
    record = [r for r in _records(root).values() if r["pipelines"] == ["staged_finetune"]][-1]
    assert record["status"] == "interrupted"
    assert "s0.base_model" in record["datasets"] and "s0.B.adapter" not in record["datasets"]
    assert not _partials(root)
    assert not list((root / "data" / live_runs.LIVE).glob("*.json"))
    # the interrupted training left no cache entry of B; a rerun completes it
    rerun = kedro(root, "run", "--pipeline=staged_finetune", "--params=path:BCA", timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    _cache_entries_whole(root)


def test_a_failing_index_append_is_one_line(tmp_path, tmp_path_factory, monkeypatch):
    root = copy_saved(tmp_path_factory, tmp_path / "project")

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ri, "append_record", full_disk)
    with pytest.raises(RunError) as raised:
        run_session(root, ["data_prep"])
    message = str(raised.value)
    assert "\n" not in message and "No space left on device" in message
    assert "its outputs are saved" in message
    assert not list((root / "data" / live_runs.LIVE).glob("*.json"))


def test_an_unwritable_index_fails_the_cli_in_one_line(tmp_path, tmp_path_factory):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    index = root / ri.RUN_INDEX
    records = index.read_text()
    index.unlink()
    index.mkdir()  # the append's rename onto it fails, as on a full or broken disk
    done = kedro(root, "run", "--pipeline=data_prep")
    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "could not be added" in last and "its outputs are saved" in last
    assert json.loads(records.splitlines()[0])["status"] == "completed"


def test_error_lines_quote_at_most_about_80_characters(tmp_path, tmp_path_factory):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    done = kedro(root, "run", f"--params=method:{'x' * 100_000}")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert "unknown unlearning method" in last and "100002 characters" in last
    assert len(last) < 400
    assert quoted("x" * 10) == "'xxxxxxxxxx'"


def test_cache_entries_of_the_saved_project_carry_checksums(tmp_path_factory):
    from tests.saved_state import saved_project

    cache = saved_project(tmp_path_factory) / CACHE
    for entry in (p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sums = json.loads((entry / CHECKSUMS).read_text())
        assert LOG_FILE in sums and any(name.endswith(".safetensors") for name in sums)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
def test_viz_server_stops_with_the_kedro_process(tmp_path, tmp_path_factory):
    root = copy_saved(tmp_path_factory, tmp_path / "project")
    port = next(p for p in range(41000 + os.getpid() % 5000, 49000) if not _listening(p))
    process = _kedro_process(root, "viz", "run", "--no-browser", f"--port={port}")
    try:
        _wait_for(lambda: _listening(port) or process.poll() is not None, timeout=240)
        assert process.poll() is None, process.stdout.read()[-3000:]
        process.send_signal(signal.SIGINT)  # the kedro process alone, not its group
        process.wait(60)
        _wait_for(lambda: not _listening(port), timeout=20)
        assert process.returncode == 130
    finally:
        os.killpg(process.pid, signal.SIGKILL) if process.poll() is None else None
