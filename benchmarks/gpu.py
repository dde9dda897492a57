"""GPU throughput of the paper setting: stage training and GSM8K generation.

Builds a randomly initialised model with the shape of Llama-3.2-1B (config only,
nothing is downloaded; speed does not depend on the weights) and measures

1. stage training as ``staged_finetune`` runs it (the project's ``train`` loop:
   LoRA rank 64 on all projections, AdamW, accelerate): tokens per second and
   model FLOPs utilisation (MFU);
2. GSM8K-style generation with k samples per question (k=5 as in the paper):
   transformers' continuous batching (``generate_batch``, paged attention, each
   question repeated k times) vs padded batched ``generate`` as ``evaluate`` runs
   it (left padding, KV cache, ``num_return_sequences=k``) vs one question at a
   time; generated tokens per second side by side.

Each part runs in FP32 and in BF16 weights (``--dtypes``), with SDPA attention.

    python benchmarks/gpu.py [--dtypes float32 bfloat16] [--peak-tflops 67]

Exits with a message (status 0) when no CUDA GPU is present: nothing is measured.
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

# Llama-3.2-1B's shape (its config.json); rope scaling does not change the cost.
LLAMA_3_2_1B = {
    "vocab_size": 128_256,
    "hidden_size": 2048,
    "intermediate_size": 8192,
    "num_hidden_layers": 16,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "max_position_embeddings": 131_072,
    "rope_theta": 500_000.0,
    "tie_word_embeddings": True,
}
LORA = {
    "r": 64,
    "lora_alpha": 128,
    "lora_dropout": 0.0,
    "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
}
# Dense peak TFLOP/s by device name and dtype (vendor data sheets, SXM parts). FP32 is
# the non-tensor-core rate: torch does not use TF32 for FP32 matmuls by default.
PEAK_TFLOPS = {
    "H200": {"float32": 67.0, "bfloat16": 989.0},
    "H100": {"float32": 67.0, "bfloat16": 989.0},
    "A100": {"float32": 19.5, "bfloat16": 312.0},
    "L40S": {"float32": 91.6, "bfloat16": 362.0},
}


def _require_gpu() -> None:
    if not torch.cuda.is_available():
        print("benchmarks/gpu.py needs a CUDA GPU and none is available; nothing was measured.")
        sys.exit(0)


def _sync() -> None:
    torch.cuda.synchronize()


def _model(dtype: torch.dtype, attention: str):
    from transformers import LlamaConfig, LlamaForCausalLM  # noqa: PLC0415

    config = LlamaConfig(**LLAMA_3_2_1B)
    config._attn_implementation = attention
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = LlamaForCausalLM(config).to(dtype)
    return model.eval()


def _peak(name: str, dtype: str, override: float | None) -> float | None:
    if override:
        return override
    return next((v[dtype] for key, v in PEAK_TFLOPS.items() if key in name), None)


def training_throughput(args: argparse.Namespace, dtype: torch.dtype) -> None:
    """Tokens/s and MFU of LoRA stage training through the project's train loop."""
    from path_unlearning.modeling.lora import new_adapter  # noqa: PLC0415
    from path_unlearning.modeling.train import TrainConfig, train  # noqa: PLC0415

    base = _model(dtype, args.attention)
    n_params = sum(p.numel() for p in base.parameters())
    model = new_adapter(base, LORA, seed=0)  # a copy of the base, with LoRA layers
    del base
    torch.cuda.empty_cache()
    generator = torch.Generator().manual_seed(0)
    n_examples = args.batch_size * (args.warmup + args.steps)
    ids = torch.randint(
        0, LLAMA_3_2_1B["vocab_size"], (n_examples, args.seq_len), generator=generator
    )
    half = args.seq_len // 2  # the response is the second half (loss on response tokens only)
    examples = [
        {"input_ids": row.tolist(), "labels": [-100] * half + row[half:].tolist()} for row in ids
    ]

    def run(model, steps: int) -> float:
        config = TrainConfig(
            lr=1e-5,
            batch_size=args.batch_size,
            max_steps=steps,
            warmup_frac=0.02,
            decay_frac=0.02,
            precision="bf16" if args.autocast_bf16 else "no",
        )
        _sync()
        start = time.perf_counter()
        train(model, examples, config, pad_id=0, description="benchmark")
        _sync()
        return time.perf_counter() - start

    run(model, args.warmup)  # CUDA context, kernels, allocator
    elapsed = run(model, args.warmup + args.steps) - run(model, args.warmup)
    tokens = args.steps * args.batch_size * args.seq_len
    rate = tokens / elapsed
    # FLOPs per token: 6N (the MFU convention) plus attention, 12 * layers * hidden * seq.
    cfg = LLAMA_3_2_1B
    attention = 12 * cfg["num_hidden_layers"] * cfg["hidden_size"] * args.seq_len
    model_flops = (6 * n_params + attention) * rate
    # LoRA skips the frozen weights' gradients: about 4N of the 6N are executed.
    executed_flops = (4 * n_params + attention) * rate
    name = torch.cuda.get_device_name()
    peak = _peak(name, "bfloat16" if args.autocast_bf16 else args.dtype, args.peak_tflops)
    print(f"\n[training] {name}, weights {args.dtype}, autocast bf16 {args.autocast_bf16}")
    print(f"  {n_params / 1e9:.2f}B parameters, LoRA r={LORA['r']}, batch {args.batch_size} "
          f"x {args.seq_len} tokens, {args.steps} timed steps")  # fmt: skip
    print(f"  {rate:,.0f} tokens/s  ({elapsed / args.steps:.3f} s/step)")
    if peak:
        print(f"  MFU {model_flops / (peak * 1e12):.1%} (6N convention), "
              f"executed {executed_flops / (peak * 1e12):.1%} of {peak:g} TFLOP/s peak")  # fmt: skip
    else:
        print("  MFU: unknown peak for this device; pass --peak-tflops")
    print(f"  peak memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")
    del model
    torch.cuda.empty_cache()


@torch.no_grad()
def _generate(model, prompts: torch.Tensor, args: argparse.Namespace) -> tuple[int, float]:
    """Generate for a left-padded batch; returns (generated tokens, seconds)."""
    attention = torch.ones_like(prompts)
    attention[:, : args.prompt_len // 4] = 0  # some left padding, as in a real batch
    _sync()
    start = time.perf_counter()
    out = model.generate(
        input_ids=prompts,
        attention_mask=attention,
        max_new_tokens=args.new_tokens,
        min_new_tokens=args.new_tokens,  # fixed lengths: random weights never stop
        do_sample=True,
        temperature=0.7,
        top_p=None,
        top_k=None,
        num_return_sequences=args.samples,
        pad_token_id=0,
        use_cache=True,
    )
    _sync()
    return (out.shape[1] - prompts.shape[1]) * out.shape[0], time.perf_counter() - start


@torch.no_grad()
def _continuous(model, prompts: torch.Tensor, args: argparse.Namespace) -> tuple[int, float]:
    """``generate_batch`` (continuous batching): each question k times; (tokens, seconds)."""
    from transformers import GenerationConfig  # noqa: PLC0415

    config = GenerationConfig(
        max_new_tokens=args.new_tokens,
        min_new_tokens=args.new_tokens,
        do_sample=True,
        temperature=0.7,
        top_p=None,
        top_k=None,
        eos_token_id=-1,  # random weights: fixed lengths, as for the other two
        pad_token_id=0,
    )
    inputs = [row.tolist() for row in prompts for _ in range(args.samples)]
    _sync()
    start = time.perf_counter()
    outputs = model.generate_batch(inputs=inputs, generation_config=config)
    _sync()
    tokens = sum(len(out.generated_tokens) for out in outputs.values())
    return tokens, time.perf_counter() - start


def generation_throughput(args: argparse.Namespace, dtype: torch.dtype) -> None:
    """Generated tokens/s: continuous batching vs padded batches vs one question per call."""
    model = _model(dtype, args.attention)
    generator = torch.Generator().manual_seed(1)
    prompts = torch.randint(
        1, LLAMA_3_2_1B["vocab_size"], (args.questions, args.prompt_len), generator=generator
    ).cuda()
    _generate(model, prompts[:2], args)  # warm-up
    batched_tokens, batched_time = 0, 0.0
    for start in range(0, args.questions, args.gen_batch):
        n, t = _generate(model, prompts[start : start + args.gen_batch], args)
        batched_tokens, batched_time = batched_tokens + n, batched_time + t
    single_tokens, single_time = 0, 0.0
    for i in range(args.single_questions):
        n, t = _generate(model, prompts[i : i + 1], args)
        single_tokens, single_time = single_tokens + n, single_time + t
    batched, single = batched_tokens / batched_time, single_tokens / single_time
    print(f"\n[generation] {args.samples} samples/question, prompt {args.prompt_len} tokens, "
          f"{args.new_tokens} new tokens, weights {args.dtype}")  # fmt: skip
    del model
    torch.cuda.empty_cache()
    paged = _model(dtype, "sdpa_paged")
    try:
        _continuous(paged, prompts[:2], args)  # warm-up
        cb_tokens, cb_time = _continuous(paged, prompts, args)
        cb = cb_tokens / cb_time
        print(f"  continuous batching (generate_batch): {cb:,.0f} tokens/s "
              f"({args.questions} questions in {cb_time:.1f} s), "
              f"{cb / batched:.2f}x padded batches")  # fmt: skip
    except Exception as error:  # noqa: BLE001 - report and go on with the other numbers
        print(f"  continuous batching failed: {type(error).__name__}: {error}")
    del paged
    torch.cuda.empty_cache()
    print(f"  batched ({args.gen_batch} questions/call): {batched:,.0f} tokens/s "
          f"({args.questions} questions in {batched_time:.1f} s)")  # fmt: skip
    print(f"  one question per call:          {single:,.0f} tokens/s "
          f"({args.single_questions} questions in {single_time:.1f} s)")  # fmt: skip
    print(f"  speed-up {batched / single:.1f}x; all 1,319 GSM8K test questions: about "
          f"{1319 * args.samples * args.new_tokens / batched / 60:.1f} min per model")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dtypes", nargs="+", choices=["float32", "bfloat16"], default=["float32", "bfloat16"]
    )
    parser.add_argument("--autocast-bf16", action="store_true", help='finetune.precision: "bf16"')
    parser.add_argument("--attention", default="sdpa")
    parser.add_argument("--peak-tflops", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=16, help="micro-batch (paper: 16 x 8)")
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--questions", type=int, default=128)
    parser.add_argument("--single-questions", type=int, default=4)
    parser.add_argument("--gen-batch", type=int, default=64)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--prompt-len", type=int, default=200)
    parser.add_argument("--new-tokens", type=int, default=256)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-generation", action="store_true")
    args = parser.parse_args()
    _require_gpu()
    for name in args.dtypes:
        args.dtype = name
        if not args.skip_training:
            training_throughput(args, getattr(torch, name))
        if not args.skip_generation:
            generation_throughput(args, getattr(torch, name))


if __name__ == "__main__":
    main()
