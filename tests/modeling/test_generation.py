"""Batched generation: input order, samples per prompt, the end-of-turn stop token."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from path_unlearning.data.tokenizer import load_chat_tokenizer
from path_unlearning.modeling.generation import generate_responses

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "paper" / "model"
PROMPTS = [
    "Where was Ada Vale born?",
    "Solve the following math problem. Kim has 12 marbles and gives away 5.",
    "Hi",
    "What is the capital of Canada? Answer in one word please, thank you.",
    "Write a haiku about autumn leaves.",
]


@pytest.fixture(scope="module")
def model_and_tokenizer():
    tokenizer = load_chat_tokenizer(str(MODEL))
    model = AutoModelForCausalLM.from_pretrained(
        MODEL, use_safetensors=True, attn_implementation="eager", dtype=torch.float32
    )
    with torch.no_grad():  # peaky logits: greedy choices are far from ties
        model.lm_head.weight.mul_(40.0)
    return model.eval(), tokenizer


def test_batched_greedy_equals_one_prompt_at_a_time(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    batched = generate_responses(model, tokenizer, PROMPTS, max_new_tokens=6, batch_size=3)
    single = [generate_responses(model, tokenizer, [p], 6, 1)[0] for p in PROMPTS]
    assert batched == single
    assert tokenizer.padding_side == "right"  # restored after left padding


def test_k_samples_per_prompt_in_input_order(model_and_tokenizer) -> None:
    model, tokenizer = model_and_tokenizer
    out = generate_responses(
        model, tokenizer, PROMPTS, 5, batch_size=2, num_samples=3, temperature=1.0, seed=1
    )
    assert [len(group) for group in out] == [3] * len(PROMPTS)
    again = generate_responses(
        model, tokenizer, PROMPTS, 5, batch_size=2, num_samples=3, temperature=1.0, seed=1
    )
    assert out == again  # seeded


def test_generation_stops_at_the_end_of_turn_token(model_and_tokenizer, monkeypatch) -> None:
    model, tokenizer = model_and_tokenizer
    seen = {}
    original = model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(model, "generate", spy)
    generate_responses(model, tokenizer, PROMPTS[:2], max_new_tokens=4)
    stops = tokenizer.convert_ids_to_tokens(seen["eos_token_id"])
    assert stops == ["<|end_of_text|>", "<|eot_id|>"]  # the base model's end token too
    assert seen["use_cache"] is True and seen["max_new_tokens"] == 4
    assert bool((seen["attention_mask"][:, 0] == 0).any())  # left padded


def test_a_base_model_end_token_mid_answer_stops_generation(monkeypatch) -> None:
    """A fine-tuned base model may end its answer with its own <|end_of_text|>."""
    tokenizer = load_chat_tokenizer(str(MODEL))
    model = AutoModelForCausalLM.from_pretrained(MODEL, use_safetensors=True).eval()
    model.generation_config.eos_token_id = tokenizer.convert_tokens_to_ids("<|end_of_text|>")
    words = tokenizer("It is 7", add_special_tokens=False)["input_ids"]
    after = tokenizer("\n#### 99", add_special_tokens=False)["input_ids"]
    script = [*words, model.generation_config.eos_token_id, *after, tokenizer.eos_token_id]
    calls = []
    forward = model.forward

    def scripted(*args, **kwargs):  # the next token is the script's, whatever the input
        out = forward(*args, **kwargs)
        logits = torch.full_like(out.logits, -1e4)
        logits[:, -1, script[min(len(calls), len(script) - 1)]] = 0.0
        calls.append(1)
        out.logits = logits
        return out

    monkeypatch.setattr(model, "forward", scripted)
    [[answer]] = generate_responses(model, tokenizer, ["Solve 3 + 4."], max_new_tokens=20)
    assert answer == "It is 7"  # not "It is 7\n#### 99": the last #### would have won
    assert len(calls) == len(words) + 1
