"""The memory modules after their split: the facade, the cached counting and the size search.

``largest_model_that_fits`` and ``shape_from_params_b`` were made faster by caching; these
tests pin what they must still mean, against ``estimate_memory`` and a plain re-computation.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

import advisor.memory as memory
import advisor.memory.cpu as memory_cpu
import advisor.memory.gpu as memory_estimate
import advisor.memory.params as param_count
import advisor.memory.plan as finetune_plan
import advisor.memory.shapes as model_shapes
from advisor.errors import AdvisorError
from advisor.memory import (
    default_targets,
    estimate_memory,
    largest_model_that_fits,
    lora_trainable_params,
    plan_finetune,
    shape_from_dims,
    shape_from_params_b,
)
from advisor.memory.shapes import REFERENCE_SHAPES, computed_params, resolve_targets

BUDGETS_GB = [0.25 * 1.5**k for k in range(21)]  # 0.25 GB to ~830 GB


def _trains(size_b: float, gpu_gb: float, method: str, seq_len: int = 512) -> bool:
    """What the planner means by "fits": with or without gradient checkpointing."""
    shape = shape_from_params_b(size_b)
    kwargs = dict(seq_len=seq_len, batch_size=1, optimizer_convention="mixed")
    if method != "full":
        kwargs.update(lora_rank=16, target_modules=default_targets(shape, "attention"))
    return any(
        estimate_memory(shape, method, gradient_checkpointing=gc, **kwargs).fits(gpu_gb)
        for gc in (False, True)
    )


@pytest.mark.parametrize("method", ["qlora", "lora", "full"])
def test_largest_model_grows_with_the_gpu(method):
    answers = [largest_model_that_fits(gb, method) or 0.0 for gb in BUDGETS_GB]
    assert answers == sorted(answers)
    assert answers[0] == 0.0 and answers[-1] > 10  # the table spans "nothing" to "large"


@pytest.mark.parametrize("method", ["qlora", "lora", "full"])
def test_largest_model_fits_and_a_quarter_more_does_not(method):
    checked = 0
    for gb in BUDGETS_GB:
        size = largest_model_that_fits(gb, method)
        if size is None:
            assert not _trains(0.05, gb, method)  # None means even the smallest size fails
            continue
        assert _trains(size, gb, method), (gb, size)
        if size * 1.25 > 1000:  # the search stops at upper_params_b (1000B), not at memory
            continue
        assert not _trains(size * 1.25, gb, method), (gb, size)
        checked += 1
    assert checked >= 10


def test_largest_model_respects_sequence_length_and_upper_bound():
    short = largest_model_that_fits(80, "qlora", seq_len=512)
    long = largest_model_that_fits(80, "qlora", seq_len=8192)
    assert long is not None and short is not None and long < short
    assert _trains(long, 80, "qlora", seq_len=8192)
    capped = largest_model_that_fits(640, "qlora", upper_params_b=5.0)
    assert capped is not None and capped <= 5.0 < largest_model_that_fits(640, "qlora")


def test_plan_with_nothing_fitting_suggests_largest_model_that_fits():
    for params_b, gpu in [(70, 8), (405, 80), (180, 48), (1000, 24)]:
        plan = plan_finetune(params_b, gpu, labeled_examples=2000)
        assert plan.method is None and not plan.fits
        expected = largest_model_that_fits(gpu, "qlora", 512, 1, params_b)
        assert plan.largest_qlora_params_b == expected
        assert f"{plan.largest_qlora_params_b:g}B" in plan.note


@pytest.mark.parametrize("params_b", [0.05, 0.1, 0.25, 0.5, 0.9, 2, 5.5, 7, 10, 20, 47, 130, 900])
def test_shape_from_params_b_picks_the_nearest_reference_shape(params_b):
    """Checked against the obvious implementation: build every candidate, keep the nearest."""
    candidates = [
        shape_from_dims(
            params_b,
            layers=layers,
            hidden=hidden,
            heads=heads,
            kv_heads=kv,
            vocab=vocab,
            intermediate=inter,
            tie_word_embeddings=tied,
            source=f"{params_b:g}B stated; dimensions of {name}",
        )
        for name, layers, hidden, heads, kv, inter, vocab, tied in REFERENCE_SHAPES
    ]
    expected = min(candidates, key=lambda s: abs(math.log(computed_params(s) / (params_b * 1e9))))
    assert shape_from_params_b(params_b) == expected


SHAPES = {
    "llama-7b-ish": dict(layers=4, hidden=512, heads=8, kv_heads=2, vocab=1000),
    "tied": dict(layers=3, hidden=256, heads=4, vocab=500, tie_word_embeddings=True),
    "wide-heads": dict(layers=2, hidden=192, heads=3, head_dim=96, vocab=300, intermediate=700),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_cached_counts_equal_a_fresh_sum_over_the_layers(name):
    shape = shape_from_dims(**SHAPES[name])
    layers = param_count.linear_layers(shape)
    fresh = param_count.non_linear_params(shape) + sum(x.params for x in layers)
    assert computed_params(shape) == fresh
    head = sum(x.weight_params for x in layers if x.is_output_head)
    assert param_count.quantizable_params(shape) == sum(x.weight_params for x in layers) - head
    by_hand = sum(16 * (x.in_features + x.out_features) for x in layers if not x.is_output_head)
    assert lora_trainable_params(shape, 16, "all-linear") == by_hand


def test_a_stated_size_changes_the_total_but_not_the_layers_or_adapters():
    dims = SHAPES["llama-7b-ish"]
    plain, stated = shape_from_dims(**dims), shape_from_dims(3.0, **dims, source="elsewhere")
    assert param_count.count_params(stated) == 3_000_000_000 != param_count.count_params(plain)
    assert computed_params(stated) == computed_params(plain)
    assert lora_trainable_params(stated, 8, "q_proj,v_proj") == lora_trainable_params(
        plain, 8, ("q_proj", "v_proj")
    )


def test_resolved_targets_are_a_fresh_list_and_bad_names_still_raise():
    shape = shape_from_dims(**SHAPES["tied"])
    first = resolve_targets(shape, ["q_proj"])
    first.clear()  # a caller's mutation must not reach the cache
    assert len(resolve_targets(shape, ["q_proj"])) == 3
    for _ in range(2):  # a failure is not cached as an answer
        with pytest.raises(AdvisorError, match="matches no layer"):
            resolve_targets(shape, ["c_attn"])
    with pytest.raises(AdvisorError, match="empty"):
        resolve_targets(shape, [" ", ""])


def test_memory_re_exports_each_name_from_its_home_module():
    homes = (finetune_plan, memory_cpu, memory_estimate, model_shapes, param_count)
    for name in memory.__all__:
        owners = [m for m in homes if name in getattr(m, "__all__", ())]
        assert owners, name
        assert all(getattr(memory, name) is getattr(m, name) for m in owners), name
    assert set(model_shapes.__all__) >= {"computed_params", "count_params", "default_targets"}


@pytest.mark.parametrize(
    "module",
    ["param_count", "model_shapes", "memory_estimate", "finetune_plan", "memory"],
)
def test_each_module_imports_first_without_a_cycle(module):
    code = f"import advisor.{module}; import sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
