"""The pilot's opt-in evidence runs: the data curve and the seed repeats (built-in model)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.errors import AdvisorError
from advisor.evaluation.data_curve import curve_sizes
from advisor.finetune.settings import LoraSettings
from advisor.pilot.context import PilotSettings
from advisor.pilot.estimate import describe_estimate, estimate_pilot
from advisor.pilot.runner import run_pilot

NAMES = ["Ana", "Bo", "Cy", "Di", "Ed", "Fay", "Gus", "Hal", "Ivy", "Jo"]
ITEMS = ["pen", "desk", "lamp", "chair", "mug", "cable", "phone", "book"]


def write_requests(path: Path, n: int) -> Path:
    """``n`` requests to rewrite as JSON (the form sample's task, in miniature)."""
    rng = random.Random(0)
    rows = []
    for i in range(n):
        name, item, qty = rng.choice(NAMES), rng.choice(ITEMS), rng.randint(1, 9)
        out = json.dumps({"name": name, "item": item, "quantity": qty})
        rows.append({"id": f"r{i:03d}", "input": f"{name} wants {qty} {item}s", "output": out})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def settings(data: Path, out: Path, **kw) -> PilotSettings:
    base = dict(
        data=str(data),
        out=str(out),
        model="builtin:tiny",
        embedder="hashing",
        arms=("zero_shot", "lora"),
        test_size=10,
        validation_size=0.1,
        batch_size=8,
        max_new_tokens=12,  # enough to test the pipeline; the tiny model has random weights
        lora=LoraSettings(epochs=1, batch_size=8, max_steps=3, learning_rate=3e-3),
    )
    base.update(kw)
    return PilotSettings(**base)


@pytest.fixture(scope="module")
def evidence_run(tmp_path_factory):
    """One pilot with the data curve and three seeds (shared: training is the slow part)."""
    folder = tmp_path_factory.mktemp("extra")
    data = write_requests(folder / "requests.jsonl", 110)
    s = settings(data, folder / "run", data_curve=(0.25, 0.5, 1.0), seeds=3)
    events: list[dict] = []
    return s, run_pilot(s, progress=events.append), events


def test_the_curve_has_three_points_with_intervals_and_a_doubling(evidence_run):
    s, results, _ = evidence_run
    n_train = results["data"]["n_train"]
    curve = results["data_curve"]["arms"]["lora"]
    assert curve["status"] == "ok" and results["data_curve"]["metric"] == results["primary_metric"]
    assert [p["n_train"] for p in curve["points"]] == curve_sizes(n_train)
    assert len(curve["points"]) == 3 and curve["points"][0]["n_train"] >= 25
    for p in curve["points"]:
        assert 0 <= p["ci95"][0] <= p["mean"] <= p["ci95"][1] <= 1
        assert "vs_baseline" in p  # zero_shot, the best prompting arm that ran
    assert results["data_curve"]["baseline"]["arm"] == "zero_shot"
    d = curve["doubling"]
    assert d["n_train"] == 2 * n_train
    assert d["predicted_ci95"][0] <= d["predicted"] <= d["predicted_ci95"][1]
    assert curve["verdict"] in ("rising", "saturating", "flat", "unclear", "falling")
    assert any(f"doubling to {2 * n_train} examples" in line for line in curve["summary"])


def test_the_whole_set_point_is_the_arm_itself(evidence_run):
    s, results, _ = evidence_run
    metric = results["primary_metric"]
    small, middle, whole = curve_sizes(results["data"]["n_train"])
    last = results["data_curve"]["arms"]["lora"]["points"][-1]
    assert last["n_train"] == whole
    assert last["mean"] == pytest.approx(results["arms"]["lora"]["metrics"][metric]["mean"])
    run = Path(s.out)
    found = {p.name for p in (run / "curve").glob("*.json")}
    assert found == {f"lora-n{small}.json", f"lora-n{middle}.json"}
    block = json.loads((run / "curve" / f"lora-n{small}.json").read_text())
    assert block["status"] == "ok" and block["n_train"] == small
    rows = (run / "curve" / f"lora-n{small}.predictions.jsonl").read_text().splitlines()
    assert len(rows) == results["data"]["n_test"]


def test_three_seeds_report_a_spread_next_to_the_interval(evidence_run):
    _, results, _ = evidence_run
    spread = results["seed_spread"]
    assert spread["seeds"] == [0, 1, 2] and spread["vary_split"] is False
    lora = spread["arms"]["lora"]
    assert [r["status"] for r in lora["runs"]] == ["ok", "ok", "ok"]
    m = lora["metrics"][results["primary_metric"]]
    assert len(m["means"]) == 3 and m["width"] == pytest.approx(max(m["means"]) - min(m["means"]))
    assert lora["ci95"] == results["arms"]["lora"]["metrics"][results["primary_metric"]]["ci95"]
    (c, *_) = [x for x in results["comparisons"] if x["a"] == "lora"]
    assert "seed_spread" in c and c["within_seed_spread"] == (abs(c["diff"]) < c["seed_spread"])


def test_a_rerun_skips_the_finished_curve_points_and_seeds(evidence_run):
    s, results, _ = evidence_run
    small, middle, _ = curve_sizes(results["data"]["n_train"])
    files = sorted((Path(s.out) / "curve").glob("*.json")) + sorted(
        (Path(s.out) / "seeds").glob("*.json")
    )
    before = {f: f.stat().st_mtime_ns for f in files}
    events: list[dict] = []
    run_pilot(s, progress=events.append)
    skipped = {e["arm"] for e in events if e.get("stage") == "skipped"}
    names = {
        f"lora on {small} examples",
        f"lora on {middle} examples",
        "lora seed 1",
        "lora seed 2",
    }
    assert names <= skipped
    assert {f: f.stat().st_mtime_ns for f in files} == before


def test_the_curve_is_refused_before_any_arm_when_the_data_is_too_small(tmp_path):
    data = write_requests(tmp_path / "few.jsonl", 50)
    with pytest.raises(AdvisorError, match="three training-set sizes of at least 25"):
        run_pilot(settings(data, tmp_path / "run", data_curve=(0.25, 0.5, 1.0)))
    assert not (tmp_path / "run" / "arms").exists()


def test_seeds_without_a_training_arm_are_refused(tmp_path):
    data = write_requests(tmp_path / "r.jsonl", 40)
    with pytest.raises(AdvisorError, match="add lora"):
        run_pilot(settings(data, tmp_path / "run", arms=("zero_shot",), seeds=2))


def test_repeats_and_subsets_train_on_what_they_should(tmp_path, monkeypatch):
    """Which examples each variant trains on (a recording stand-in for the training)."""
    from advisor.pilot import arms
    from advisor.pilot.arms import ArmOutput
    from advisor.pilot.context import Prediction

    calls = []

    def record(ctx, arm, test, *, train=None, validation=None, lora=None, **kw):
        train = ctx.split.train if train is None else train
        validation = ctx.split.validation if validation is None else validation
        calls.append((kw.get("progress_name") or arm, train, validation, test, lora))
        preds = [Prediction(arm, e.id, e.input, e.output, e.output) for e in test]
        return ArmOutput(preds, train={"seconds": 0.0})

    monkeypatch.setattr(arms, "train_and_answer", record)  # the lora arm and the variants
    data = write_requests(tmp_path / "r.jsonl", 110)
    s = settings(data, tmp_path / "run", data_curve=(0.25, 0.5, 1.0), seeds=3, seed_split=True)
    run_pilot(s)
    by_name = {c[0]: c for c in calls}
    whole = by_name["lora"]
    small, middle, n_train = curve_sizes(len(whole[1]))
    sub_s, sub_m = by_name[f"lora on {small} examples"][1], by_name[f"lora on {middle} examples"][1]
    assert (len(sub_s), len(sub_m)) == (small, middle)
    assert [e.id for e in sub_m[:small]] == [e.id for e in sub_s]  # nested
    assert {e.id for e in sub_m} <= {e.id for e in whole[1]}
    s1, s2 = by_name["lora seed 1"], by_name["lora seed 2"]
    assert (s1[4].seed, s2[4].seed) == (1, 2)
    for rep in (s1, s2):
        assert len(rep[1]) == len(whole[1]) and len(rep[2]) == len(whole[2])
        assert [e.id for e in rep[3]] == [e.id for e in whole[3]]  # the same test items
        assert {e.id for e in rep[1] + rep[2]} == {e.id for e in whole[1] + whole[2]}
    assert {e.id for e in s1[1]} != {e.id for e in whole[1]}  # --seed-split redrew it


def test_the_estimate_shows_the_cost_of_the_curve_and_the_seeds(tmp_path):
    from advisor.data.samples import get_sample

    data = get_sample("form").data  # 240 examples
    kw = {"arms": ("few_shot", "lora"), "test_size": 0.2}  # 168 training examples
    plain = estimate_pilot(settings(data, tmp_path / "o", **kw))
    more = estimate_pilot(settings(data, tmp_path / "o", data_curve=(0.25, 0.5, 1), seeds=3, **kw))
    assert plain.extra_seconds == {}
    curve = next(k for k in more.extra_seconds if "data curve" in k)
    assert "(42, 84 examples)" in curve  # 168 training examples: a quarter and a half
    assert more.extra_seconds["lora 2 more seeds"] == pytest.approx(
        2 * more.per_arm_seconds["lora"], abs=0.11
    )
    assert more.seconds == pytest.approx(plain.seconds + sum(more.extra_seconds.values()), abs=0.2)
    assert "data curve" in describe_estimate(more) and "2 more seeds" in describe_estimate(more)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--seeds", "three"], "--seeds takes a whole number"),
        (["--seeds", "0"], "seeds must be a whole number from 1"),
        (["--data-curve", "0.25,half,1"], "--data-curve takes fractions"),
        (["--data-curve", "0.5,1"], "at least three different fractions"),
        (["--seed-split"], "--seed-split needs --seeds 2"),
    ],
)
def test_bad_evidence_flags_are_one_line_errors(tmp_path, capsys, flags, message):
    data = write_requests(tmp_path / "r.jsonl", 40)
    args = ["pilot", "--data", str(data), "--out", str(tmp_path / "run"), "--model"]
    assert main([*args, "builtin:tiny", "--quiet", *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
