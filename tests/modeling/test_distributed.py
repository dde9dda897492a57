"""Data-parallel training and unlearning through ``accelerate launch``: 2 CPU ranks match 1.

The launched tests start two gloo ranks on the CPU (a few seconds each). Their
results agree with one process up to float32 rounding, not bitwise: each rank
pads its own slice (other matmul shapes), the per-example log-probs and token
losses are summed in another order, and gloo adds the ranks' gradients. Over a
few AdamW steps at lr 1e-2 that moves no weight by more than ``WEIGHT_ATOL``.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from path_unlearning.data import synthetic
from path_unlearning.data.chat import encode_records
from path_unlearning.errors import ConfigError
from path_unlearning.modeling import launch
from path_unlearning.modeling.data_parallel import rank_slice
from path_unlearning.modeling.lora import AdapterCheckpoint, new_adapter
from path_unlearning.modeling.model import pad_batch
from path_unlearning.modeling.scoring import encode_batches
from path_unlearning.modeling.train import TrainConfig, make_optimization, seeded_loader, train
from path_unlearning.pipelines.staged_finetune.nodes import train_prefix
from path_unlearning.sections import launch_settings, validate_sections
from path_unlearning.unlearning.distributed import launch_unlearn, start_parts
from path_unlearning.unlearning.loop import UnlearnConfig, start_model, unlearn

LORA = {"r": 4, "lora_alpha": 8, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
TWO = launch.LaunchSettings(num_processes=2)
# float32 rounding of differently shaped and ordered sums (module docstring); the
# measured differences are about 10x smaller.
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-5


def _max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max((a[k].float() - b[k].float()).abs().max().item() for k in a)


@pytest.fixture(scope="module")
def math_records() -> pd.DataFrame:
    """15 math rows: batches of 4 end with a batch of 3, which two ranks split 2 + 1."""
    return pd.DataFrame(synthetic.math_problems(40, 10, 1)[0][:15])


# --- no processes launched --------------------------------------------------------


@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 16])
def test_rank_slices_cover_a_batch_in_order(n, world_size):
    parts = [list(range(n))[rank_slice(n, r, world_size)] for r in range(world_size)]
    assert sum(parts, []) == list(range(n))
    assert max(map(len, parts)) - min(map(len, parts)) <= 1


def test_launch_settings_are_validated(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert not launch_settings({}, "finetune").data_parallel
    assert launch_settings({"num_processes": 4}, "unlearn").num_processes == 4
    with pytest.raises(ConfigError, match=r"finetune.num_processes=0 is out of range"):
        launch_settings({"num_processes": 0}, "finetune")
    with pytest.raises(ConfigError, match=r"unlearn.accelerate_config='nope.yaml': no such file"):
        launch_settings({"accelerate_config": "nope.yaml"}, "unlearn")
    (tmp_path / "acc.yaml").write_text("distributed_type: MULTI_GPU\n")
    assert launch_settings({"accelerate_config": "acc.yaml"}, "unlearn").accelerate_config
    # A count is per section, never per stage.
    params = {"finetune": {"num_processes": 2}, "stages": {"A": {"num_processes": 2}}}
    with pytest.raises(ConfigError, match=r"stages.A: unknown parameter 'num_processes'"):
        validate_sections(params, ())


def test_accelerate_command_names_the_worker_and_a_free_port(tmp_path):
    command, env = launch.accelerate_command(TWO, launch.STAGE_WORKER, tmp_path, 29123)
    assert command[1:3] == ["-m", "accelerate.commands.launch"]
    assert command[command.index("--num_processes") + 1] == "2"
    assert command[-3:] == ["-m", launch.STAGE_WORKER, str(tmp_path)]
    assert env["MASTER_PORT"] == "29123"
    if not torch.cuda.is_available():
        assert env["ACCELERATE_USE_CPU"] == "true"
    with_config = launch.LaunchSettings(num_processes=2, accelerate_config="acc.yaml")
    command, _ = launch.accelerate_command(with_config, "m", tmp_path, 1)
    assert command[command.index("--config_file") + 1] == "acc.yaml"
    assert "--multi_gpu" not in command


def test_only_rank_zero_may_write(tmp_path):
    out = tmp_path / "out"
    (out / "adapter").mkdir(parents=True)
    (out / "adapter" / "w.safetensors").write_text("x")
    reports = out / launch.RANKS_FILE
    reports.write_text(json.dumps({"0": ["adapter/w.safetensors"], "1": []}))
    launch.check_single_writer(out, 2)
    reports.write_text(json.dumps({"0": [], "1": ["adapter/w.safetensors"]}))
    with pytest.raises(launch.LaunchError, match="ranks 1 wrote files"):
        launch.check_single_writer(out, 2)
    reports.write_text(json.dumps({"0": []}))
    with pytest.raises(launch.LaunchError, match="expected reports of ranks 0..1"):
        launch.check_single_writer(out, 2)
    reports.write_text(json.dumps({"0": [], "1": []}))
    with pytest.raises(launch.LaunchError, match="exactly rank 0's files"):
        launch.check_single_writer(out, 2)


def test_one_process_loop_is_the_plain_mean_loss_loop(
    tiny_base_model, word_tokenizer, math_records
):
    """One process, no accumulation: bitwise the textbook loop on the model's own mean loss.

    The shared loop passes ``num_items_in_batch`` (the step's token count) and
    multiplies by ``world_size * grad_accum == 1``; neither may change a bit.
    """
    examples = encode_records(word_tokenizer, math_records["prompt"], math_records["response"])
    config = TrainConfig(lr=1e-2, batch_size=4, max_steps=5, seed=7)
    pad_id = word_tokenizer.pad_token_id

    model = new_adapter(tiny_base_model, LORA, seed=7)
    log = train(model, examples, config, pad_id)

    plain = new_adapter(tiny_base_model, LORA, seed=7)
    loader = seeded_loader(examples, config, lambda batch: pad_batch(batch, pad_id))
    _, trainable, optimizer, scheduler = make_optimization(plain, len(examples), config)
    plain.train()
    losses, batches = [], itertools.chain(loader, loader)  # 5 steps: 4 batches per epoch
    for _ in range(config.max_steps):
        loss = plain(**next(batches)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, config.max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        scheduler.step()
        losses.append(loss.item())
    assert log["loss"].tolist() == losses
    trained = AdapterCheckpoint.from_model(model, {}).state
    reference = AdapterCheckpoint.from_model(plain, {}).state
    assert all(torch.equal(trained[k], reference[k]) for k in reference)
    assert (
        _max_diff(
            trained,
            AdapterCheckpoint.from_model(new_adapter(tiny_base_model, LORA, seed=7), {}).state,
        )
        > 0
    )


# --- two gloo ranks, launched -----------------------------------------------------


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_stage_node_on_two_processes_matches_one(
    tiny_base_model, word_tokenizer, math_records, tmp_path, monkeypatch
):
    """``finetune.num_processes: 2`` returns what one process returns, writing nothing else."""
    work, scratch = tmp_path / "work", tmp_path / "tmp"
    work.mkdir(), scratch.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    finetune = {"cache_dir": None, "precision": "no", "batch_size": 4, "lr": 1e-2, "lora": LORA}
    stage = {"max_steps": 5}
    args = (tiny_base_model, word_tokenizer, math_records, stage)
    one, one_log = train_prefix(*args, finetune, 0, "B")
    two, two_log = train_prefix(*args, {**finetune, "num_processes": 2}, 0, "B")

    assert _files(work) == set() and _files(scratch) == set()  # the job folder is gone
    assert (
        list(two_log.columns) == list(one_log.columns) == ["prefix", "step", "loss", "lr", "tokens"]
    )
    pd.testing.assert_frame_equal(one_log, two_log, rtol=LOSS_RTOL)
    assert _max_diff(one.state, two.state) < WEIGHT_ATOL  # measured: 1.2e-7
    assert two.metadata["num_processes"] == 2
    # One loop and one loss for any number of processes: the same cache entry.
    assert two.metadata["fingerprint"] == one.metadata["fingerprint"]
    assert {k: v for k, v in two.metadata.items() if k != "num_processes"} == one.metadata


def test_accumulation_normalises_by_the_tokens_of_the_optimizer_step(
    tiny_base_model, word_tokenizer, math_records, tmp_path
):
    """grad_accum 2 over 2 ranks equals one process; the loss is the step's token mean."""
    examples = encode_records(word_tokenizer, math_records["prompt"], math_records["response"])
    # Unlabel the first i % 4 response tokens of example i, so micro-batches differ
    # in their token counts (the math responses all have the same length).
    for i, example in enumerate(examples):
        labelled = [j for j, label in enumerate(example["labels"]) if label != -100]
        example["labels"] = [
            -100 if j in labelled[: i % 4] else label for j, label in enumerate(example["labels"])
        ]
    config = TrainConfig(lr=1e-2, batch_size=4, grad_accum=2, max_steps=3, seed=5)
    start = new_adapter(tiny_base_model, LORA, seed=5)
    checkpoint = AdapterCheckpoint.from_model(start, {})
    job = tmp_path / "job"
    (job / launch.OUT_DIR).mkdir(parents=True)
    (job / launch.SCRATCH_DIR).mkdir()
    spec = {"kind": "stage", "config": vars(config), "pad_id": word_tokenizer.pad_token_id}
    launch.write_job(job, tiny_base_model, checkpoint, examples, {**spec, "description": "t"})
    launch.run_workers(job, launch.STAGE_WORKER, TWO)

    out = job / launch.OUT_DIR
    ranks = json.loads((out / launch.RANKS_FILE).read_text())
    assert ranks["1"] == [] and "log.parquet" in ranks["0"]
    assert {p for p in _files(out) if (out / p).is_file()} == {*ranks["0"], launch.RANKS_FILE}
    two_log = pd.read_parquet(out / launch.LOG_FILE)
    two = AdapterCheckpoint.from_pretrained(out / launch.ADAPTER_DIR).state

    initial = AdapterCheckpoint.from_model(new_adapter(tiny_base_model, LORA, seed=5), {}).state
    log = train(start, examples, config, word_tokenizer.pad_token_id)
    pd.testing.assert_frame_equal(log, two_log, rtol=LOSS_RTOL)
    assert _max_diff(AdapterCheckpoint.from_model(start, {}).state, two) < WEIGHT_ATOL
    # Step 1's loss, by hand from the untrained adapter: the token-weighted mean of
    # its two micro-batches, not the mean of their means.
    fresh = new_adapter(tiny_base_model, LORA, seed=5)
    assert _max_diff(AdapterCheckpoint.from_model(fresh, {}).state, initial) == 0
    loader = iter(
        seeded_loader(examples, config, lambda b: pad_batch(b, word_tokenizer.pad_token_id))
    )
    sums, counts, means = [], [], []
    with torch.no_grad():
        for _ in range(config.grad_accum):
            batch = next(loader)
            n = int((batch["labels"][:, 1:] != -100).sum())
            mean = fresh(**batch).loss
            sums.append(mean.double() * n), counts.append(n), means.append(mean.item())
    token_mean = (sum(sums) / sum(counts)).item()
    assert log["loss"][0] == pytest.approx(token_mean, rel=1e-6)
    assert counts[0] != counts[1], counts  # so the two means differ
    assert abs(sum(means) / len(means) - token_mean) > 1e-4  # 1000x the rounding


def test_unlearning_on_two_processes_matches_one(tiny_base_model, word_tokenizer):
    """GradDiff (two forwards per step, forget and retain slices) with uneven slices."""
    refusals = synthetic.refusals(30, 2)
    forget = encode_records(
        word_tokenizer, [r["prompt"] for r in refusals[:11]], [r["response"] for r in refusals[:11]]
    )
    retain = encode_records(
        word_tokenizer, [r["prompt"] for r in refusals[11:]], [r["response"] for r in refusals[11:]]
    )
    probes = {
        "forget_label": encode_batches(
            word_tokenizer, [r["prompt"] for r in refusals[:6]], [synthetic.REFUSAL_LABEL] * 6, 4
        )
    }
    config = UnlearnConfig(
        method="gradiff", steps=4, batch_size=5, lr=1e-2, checkpoint_every=2, seed=3
    )
    adapter = AdapterCheckpoint.from_model(new_adapter(tiny_base_model, LORA, seed=1), {})
    pad = word_tokenizer.pad_token_id
    one = unlearn(
        start_model(tiny_base_model, adapter, LORA, 3), forget, probes, config, pad, retain
    )
    base, start = start_parts(tiny_base_model, adapter, LORA, 3, continue_adapter=False)
    two = launch_unlearn(base, start, forget, probes, config, pad, retain, TWO)

    pd.testing.assert_frame_equal(one.trajectory, two.trajectory, rtol=LOSS_RTOL)
    assert sorted(two.checkpoints) == sorted(one.checkpoints) == [0, 2, 4]
    assert two.diverged == one.diverged is False
    assert _max_diff(one.checkpoints[0].state, two.checkpoints[0].state) == 0  # same LoRA init
    # measured: 8.9e-8; final loss 6.6674500 vs 6.6674423
    assert _max_diff(one.checkpoints[4].state, two.checkpoints[4].state) < WEIGHT_ATOL
