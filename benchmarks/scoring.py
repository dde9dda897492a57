"""Batched log-likelihood scoring vs a per-example loop, side by side.

Scores every (forget prompt, refusal paraphrase) pair of the default evaluation
set with the default tiny architecture, once with padded batches (one forward
per batch, as the project does) and once one example per forward, and prints
both times and their ratio (goal >= 10x). Weights are random: speed does not
depend on them.

    python benchmarks/scoring.py [--batch-size 128] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import yaml

from path_unlearning.metrics.eval_sets import probe_pairs
from path_unlearning.modeling.model import build_tiny_llama, configure_torch_for_cpu
from path_unlearning.modeling.scoring import encode_batches, score_batches
from path_unlearning.pipelines.data_prep.nodes import (
    build_tokenizer,
    make_eval_sets,
    make_stage_data,
)

CONF = Path(__file__).resolve().parents[1] / "conf" / "base"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="as torch_threads in parameters")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    configure_torch_for_cpu()
    data_params = yaml.safe_load((CONF / "parameters_data_prep.yml").read_text())["data_prep"]
    model_params = yaml.safe_load((CONF / "parameters_staged_finetune.yml").read_text())["model"]
    facts, math, math_test, refusals, corpus = make_stage_data(data_params)
    tokenizer = build_tokenizer(corpus, facts, math, math_test, refusals, model_params)
    forget, paraphrases, facts_eval, _ = make_eval_sets(facts, refusals, math_test, data_params)
    prompts, responses = probe_pairs(
        forget, paraphrases, facts_eval, math_test, all_paraphrases=True
    )["paraphrase"]
    model = build_tiny_llama(len(tokenizer), model_params["architecture"], seed=0).eval()

    batched = encode_batches(tokenizer, prompts, responses, args.batch_size)
    single = encode_batches(tokenizer, prompts, responses, 1)
    timings = {}
    for name, batches in [("batched", batched), ("per-example", single)]:
        score_batches(model, batches[:2])  # warm-up
        best = float("inf")
        for _ in range(args.repeats):
            start = time.perf_counter()
            sums, _ = score_batches(model, batches)
            best = min(best, time.perf_counter() - start)
        timings[name] = (best, sums)
    assert torch.allclose(timings["batched"][1], timings["per-example"][1], atol=1e-3)
    print(
        f"pairs scored:           {len(prompts)}  (batch size {args.batch_size}, "
        f"{torch.get_num_threads()} threads)"
    )
    print(f"batched:                {timings['batched'][0]:.3f} s")
    print(f"per-example loop:       {timings['per-example'][0]:.3f} s")
    print(f"speed-up (loop/batched): {timings['per-example'][0] / timings['batched'][0]:.1f}x")
    print("same log-likelihoods:   yes (max abs diff <= 1e-3)")


if __name__ == "__main__":
    main()
