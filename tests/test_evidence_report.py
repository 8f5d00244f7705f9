"""The report's data curve, seed spread and run comparison sections (hand-made results)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from report_helpers import make_results

from advisor.cli import main
from advisor.evaluation.data_curve import analyse_curve
from advisor.evaluation.seed_spread import seed_spread
from advisor.report import build_report_data, render_html, render_markdown
from advisor.report.charts import render_charts


def items(mean: float, n: int = 40) -> np.ndarray:
    return mean + 0.1 * np.where(np.arange(n) % 2 == 0, 1.0, -1.0)


def with_evidence(results: dict) -> dict:
    """Add a rising lora curve and a 3-seed spread whose width swallows a comparison."""
    rising = [1.0 / (1.0 + np.exp(-z)) for z in (-1.0, 0.0, 0.5)]  # log-odds: a=-1, b=1, r=.5
    curve = analyse_curve([42, 84, 168], [items(m) for m in rising], baseline=items(0.4))
    curve["status"] = "ok"
    metric = "token_f1"
    results["primary_metric"] = metric
    results["data_curve"] = {
        "metric": metric,
        "baseline": {"arm": "few_shot", "mean": 0.4, "ci95": [0.33, 0.47]},
        "arms": {"lora": curve, "lora_rag": {"status": "pending", "missing": [42]}},
        "note": "one training run per point",
    }
    means = {0: {metric: 0.60}, 1: {metric: 0.66}, 2: {metric: 0.58}}
    runs = [{"seed": s, "status": "ok", "metrics": m} for s, m in means.items()]
    results["seed_spread"] = {
        "seeds": [0, 1, 2],
        "vary_split": False,
        "metric": metric,
        "arms": {"lora": {"runs": runs, "ci95": [0.52, 0.68], **seed_spread(means)}},
        "note": "range over seeds",
    }
    results["comparisons"] = [
        {
            "a": "lora",
            "b": "few_shot",
            "metric": metric,
            "diff": 0.05,
            "ci95": [0.01, 0.09],
            "p_value": 0.01,
            "p_holm": 0.03,
            "n": 40,
            "significant": False,
            "seed_spread": 0.08,
            "within_seed_spread": True,
            "significant_ignoring_seeds": True,
        }
    ]
    return results


@pytest.fixture
def report():
    return build_report_data(None, with_evidence(make_results()), None)


def test_the_curve_is_a_table_with_the_doubling_and_the_chapters_rule(report):
    md = render_markdown(report)
    assert "### Data curve: how much data finetuning needs" in md
    assert "#### LoRA finetune: still rising" in md
    assert "| 336 (doubled) | 0.68" in md  # the fitted curve: log-odds 0.5 -> 0.75
    assert "aim at about 672 training examples" in md
    assert "50-100 good examples are enough to see whether finetuning helps" in md
    assert "LoRA finetune + RAG: no curve (pending)." in md
    assert "*Chart: Data curve (Token F1)." in md


def test_the_spread_table_and_a_gap_inside_it_are_said(report):
    md = render_markdown(report)
    assert "### Seed spread: how much training noise moves the numbers" in md
    assert "| LoRA finetune | 0: 0.60, 1: 0.66, 2: 0.58 | 0.08 |" in md
    assert (
        "LoRA finetune vs Few-shot prompting on Token F1: +0.05 is smaller than the seed "
        "spread 0.08, so it is not called significant (significant on the test items alone)."
    ) in md


def test_the_curve_and_the_spread_are_drawn(report):
    charts = render_charts(report, "svg")
    assert {"data_curve", "seed_spread"} <= set(charts)
    html = render_html(report)
    assert html.count('alt="Data curve (Token F1)"') == 1
    assert 'alt="Seed spread (Token F1)"' in html


def test_every_plotted_number_is_in_the_report_json(report):
    curve = report["pilot"]["data_curve"]["arms"][0]
    assert [p["n_train"] for p in curve["points"]] == [42, 84, 168]
    assert curve["fit"]["r"] == pytest.approx(0.5) and curve["doubling"]["n_train"] == 336
    json.dumps(report, allow_nan=False)


def test_a_malformed_curve_is_an_empty_section_not_a_crash():
    results = with_evidence(make_results())
    results["data_curve"]["arms"]["lora"]["doubling"] = "soon"
    results["seed_spread"]["arms"]["lora"]["runs"] = "many"
    data = build_report_data(None, results, None)
    md = render_markdown(data)
    assert "LoRA finetune: no curve" in md
    assert render_charts(data, "png").get("data_curve") is None


def test_a_report_without_the_blocks_has_no_such_sections():
    md = render_markdown(build_report_data(None, make_results(), None))
    assert "Data curve" not in md and "Seed spread" not in md
    assert "Comparison with another run" not in md


def _run(folder, f1):
    (folder / "arms").mkdir(parents=True)
    results = make_results(arms=("few_shot",))
    results["config"] = {"task": folder.name}
    (folder / "results.json").write_text(json.dumps(results))
    rows = [
        {
            "arm": "few_shot",
            "example_id": f"q{i}",
            "input": f"q{i}?",
            "reference": "a",
            "output": "a",
            "scores": {"token_f1": v},
        }
        for i, v in enumerate(f1)
    ]
    (folder / "arms" / "few_shot.predictions.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    return folder


def test_report_compare_adds_the_run_comparison_section(tmp_path, capsys):
    a = _run(tmp_path / "old", [0.2, 0.4, 0.4, 0.6])
    b = _run(tmp_path / "new", [0.6, 0.4, 0.8, 0.6])
    out = tmp_path / "rep"
    assert (
        main(["report", str(b), "--compare", str(a), "--format", "md,json", "--out", str(out)]) == 0
    )
    md = (out / "report.md").read_text()
    assert "## Comparison with another run" in md
    assert 'task: "old" -&gt; "new"' in md or 'task: "old" -> "new"' in md
    assert "### Few-shot prompting: 4 shared test items" in md
    assert "| Token F1 | 0.40 \\[" in md and "| +0.20 \\[" in md
    data = json.loads((out / "report.json").read_text())
    assert data["run_comparison"]["arms"][0]["comparisons"][0]["diff"] == pytest.approx(0.2)
    assert main(["report", "--compare", str(a), "--format", "md", "--out", str(out)]) == 2
    assert "needs the RUN_DIR" in capsys.readouterr().err
