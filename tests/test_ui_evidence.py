"""The report page shows the data curve, the seed spread and a run comparison (AppTest)."""

from __future__ import annotations

import json

import pytest
from report_helpers import make_results
from test_evidence_report import with_evidence
from ui_helpers import goto, new_app, texts


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ADVISOR_APP_EMBEDDER", "hashing")
    return tmp_path / "runs"


def _run(root, run_id, f1, evidence=False):
    folder = root / run_id
    (folder / "arms").mkdir(parents=True)
    results = make_results(arms=("few_shot", "lora"))
    results["config"] = {"task": run_id}
    if evidence:
        results = with_evidence(results)
    (folder / "results.json").write_text(json.dumps(results))
    for arm in ("few_shot", "lora"):
        rows = [
            {
                "arm": arm,
                "example_id": f"q{i}",
                "input": f"q{i}?",
                "reference": "a",
                "output": "a",
                "scores": {"token_f1": v},
            }
            for i, v in enumerate(f1)
        ]
        (folder / "arms" / f"{arm}.predictions.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows)
        )
    return folder


def test_curve_spread_and_comparison_on_the_report_page(_env):
    _run(_env, "run-a", [0.2, 0.4, 0.4, 0.6])
    _run(_env, "run-b", [0.6, 0.4, 0.8, 0.6], evidence=True)
    at = goto(new_app().run(), "report")
    at.selectbox(key="r__run").set_value("run-b").run()
    assert not at.exception, [e.value for e in at.exception]
    shown = "\n".join(texts(at.markdown))
    assert "**Data curve**" in shown and "aim at about 672 training examples" in shown
    assert "**Seed spread** over seeds 0, 1, 2" in shown
    assert "+0.05 is smaller than the seed spread 0.08: not significant" in shown
    assert len(at.get("image")) >= 2  # the curve and the spread, drawn by the report's code
    compare = at.selectbox(key="r__compare")
    assert compare.options == ["(no comparison)", "run-a"]
    compare.set_value("run-a").run()
    assert not at.exception and not at.error
    frames = [f.value for f in at.dataframe]
    table = next(f for f in frames if "B - A [95% CI]" in f.columns)
    f1 = table[(table["arm"] == "Few-shot prompting") & (table["metric"] == "Token F1")]
    assert f1["B - A [95% CI]"].iloc[0].startswith("+0.20")


def test_runs_on_other_items_are_explained_not_raised(_env):
    _run(_env, "run-a", [0.2, 0.4, 0.4, 0.6])
    other = _run(_env, "run-b", [0.6, 0.4, 0.8, 0.6], evidence=True)
    for arm in ("few_shot", "lora"):
        path = other / "arms" / f"{arm}.predictions.jsonl"
        path.write_text(path.read_text().replace('"q', '"z'))
    at = goto(new_app().run(), "report")
    at.selectbox(key="r__run").set_value("run-b").run()
    at.selectbox(key="r__compare").set_value("run-a").run()
    assert not at.exception
    assert any("share no test items" in e.value for e in at.error)
