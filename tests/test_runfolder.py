"""The run folder: nothing lost, nothing stale. Resume only what was made from the same
inputs (by content), never write into a folder that is not ours, write nothing until the
run is accepted, and say what went wrong on one line (exit 2)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from advisor.cli import main
from advisor.errors import AdvisorError
from advisor.pilot.context import PilotSettings
from advisor.pilot.runner import run_pilot

FAST = ["--model", "builtin:tiny", "--embedder", "hashing", "--max-new-tokens", "4", "--quiet"]
ARMS = "nearest_neighbor,zero_shot"


def write_data(folder: Path, answer: str = "answer") -> Path:
    """20 question/answer pairs; ``answer`` changes every output (an edit in place)."""
    rows = [{"input": f"What is item {i}?", "output": f"{answer} {i}"} for i in range(20)]
    path = folder / "ex.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def pilot(capsys, data: Path, out: Path | str, *extra: str) -> tuple[int, str]:
    """``advisor pilot`` in this process: (exit code, stderr)."""
    capsys.readouterr()
    try:
        code = main(
            ["pilot", "--data", str(data), "--out", str(out), "--arms", ARMS, *FAST, *extra]
        )
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    return code, capsys.readouterr().err


def one_line_error(err: str) -> str:
    """The error of a refused run: exactly one line, no traceback."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and ": error: " in lines[0], err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def references(run: Path) -> set[str]:
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    return {row["reference"] for row in rows}


# -- 1. resume keys on contents ----------------------------------------------------------------


def test_an_edited_data_file_is_refused_by_content_then_force_starts_over(tmp_path, capsys):
    data, run = write_data(tmp_path), tmp_path / "run"
    assert pilot(capsys, data, run)[0] == 0
    before = snapshot(run)
    write_data(tmp_path, answer="changed")  # same path, other outputs
    code, err = pilot(capsys, data, run)
    line = one_line_error(err)
    assert code == 2 and "the data file changed" in line and "--force" in line
    assert snapshot(run) == before  # the old arms stay as they were, not reused
    code, err = pilot(capsys, data, run, "--force")
    assert code == 0, err
    assert all(ref.startswith("changed") for ref in references(run))
    notes = json.loads((run / "results.json").read_text())["notes"]
    assert any("started over" in n for n in notes)


def test_the_same_content_at_another_path_resumes(tmp_path, capsys):
    data, run = write_data(tmp_path), tmp_path / "run"
    assert pilot(capsys, data, run)[0] == 0
    stamps = {p: p.stat().st_mtime_ns for p in (run / "arms").glob("*.json")}
    moved = tmp_path / "moved.jsonl"
    data.rename(moved)
    assert pilot(capsys, moved, run)[0] == 0
    assert {p: p.stat().st_mtime_ns for p in (run / "arms").glob("*.json")} == stamps


@pytest.mark.parametrize("what", ["kb", "format"])
def test_an_edited_knowledge_base_or_schema_file_is_named(what, tmp_path, capsys):
    data, run = write_data(tmp_path), tmp_path / "run"
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "a.txt").write_text("Items are numbered from 0 to 19.")
    schema = tmp_path / "schema.json"
    schema.write_text('{"type": "string"}')
    extra = ("--kb", str(kb), "--format", str(schema))
    assert pilot(capsys, data, run, *extra)[0] == 0
    if what == "kb":
        (kb / "a.txt").write_text("Items are numbered from 1 to 20.")
    else:
        schema.write_text('{"type": "object"}')
    code, err = pilot(capsys, data, run, *extra)
    label = {"kb": "the knowledge base changed", "format": "the format schema file changed"}
    assert code == 2 and label[what] in one_line_error(err)


def test_a_changed_model_folder_is_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    from advisor.models.load import load_generator

    folder = Path(load_generator("builtin:tiny").model.name_or_path)
    model = tmp_path / "model"
    model.mkdir()
    for f in folder.iterdir():
        if f.is_file():
            (model / f.name).write_bytes(f.read_bytes())
    data = write_data(tmp_path)
    settings = PilotSettings(
        data=str(data),
        out=str(tmp_path / "run"),
        model=str(model),
        arms=("zero_shot",),
        embedder="hashing",
        max_new_tokens=4,
    )
    assert run_pilot(settings)["arms"]["zero_shot"]["status"] == "ok"
    weights = load_file(model / "model.safetensors")
    name = sorted(weights)[0]
    weights[name] = weights[name] + 1.0  # retrained in place: same path, other weights
    save_file(weights, model / "model.safetensors")
    with pytest.raises(AdvisorError, match="the model changed"):
        run_pilot(settings)


# -- 2 and 10. arms without readable settings ----------------------------------------------------


@pytest.mark.parametrize("state", ["missing", "corrupt", "a list"])
def test_arms_without_readable_settings_are_refused(state, tmp_path, capsys):
    data, run = write_data(tmp_path), tmp_path / "run"
    assert pilot(capsys, data, run)[0] == 0
    settings = run / "settings.json"
    if state == "missing":
        settings.unlink()
    else:
        settings.write_text("{ not json" if state == "corrupt" else "[1, 2]")
    before = snapshot(run)
    code, err = pilot(capsys, data, run, "--seed", "5", "--test-size", "6")
    line = one_line_error(err)
    assert code == 2 and "settings.json" in line and "--force" in line
    assert snapshot(run) == before
    code, err = pilot(capsys, data, run, "--seed", "5", "--test-size", "6", "--force")
    assert code == 0, err
    assert json.loads(settings.read_text())["seed"] == 5


# -- 3. only our folders -------------------------------------------------------------------------


def test_an_empty_out_is_refused_and_nothing_lands_in_the_current_folder(
    tmp_path, capsys, monkeypatch
):
    data = write_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    code, err = pilot(capsys, data, "")
    assert code == 2 and "--out" in one_line_error(err)
    assert snapshot(tmp_path) == before


def test_a_folder_that_is_not_a_run_folder_is_never_written(tmp_path, capsys):
    data = write_data(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.json").write_text("my own results, not a pilot's")
    (mine / "notes.md").write_text("# notes")
    before = snapshot(mine)
    for extra in ((), ("--force",)):
        code, err = pilot(capsys, data, mine, *extra)
        assert code == 2 and "not a pilot run folder" in one_line_error(err)
        assert snapshot(mine) == before


def test_an_empty_folder_or_one_with_only_hidden_files_is_fine(tmp_path, capsys):
    data = write_data(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / ".keep").write_text("")
    assert pilot(capsys, data, empty)[0] == 0
    assert (empty / "results.json").is_file()


# -- 4. nothing written before the run is accepted ------------------------------------------------


def test_answers_are_kept_when_the_run_is_refused(tmp_path, capsys):
    data, run = write_data(tmp_path), tmp_path / "run"
    first = tmp_path / "first.yaml"
    first.write_text("task: first answers\n")
    assert pilot(capsys, data, run, "--answers", str(first))[0] == 0
    kept = (run / "answers.json").read_bytes()
    second = tmp_path / "second.yaml"
    second.write_text("task: second answers\n")
    code, _ = pilot(capsys, data, run, "--seed", "9", "--answers", str(second))
    assert code == 2
    assert (run / "answers.json").read_bytes() == kept


@pytest.mark.parametrize("problem", ["missing data", "bad answers", "bad regex", "seed -1"])
def test_a_run_that_fails_validation_creates_no_folder(problem, tmp_path, capsys):
    data = write_data(tmp_path)
    answers = tmp_path / "answers.yaml"
    answers.write_text("task: a\ntask: b\n")
    good = tmp_path / "good.yaml"
    good.write_text("task: a\n")
    extra = {
        "missing data": ("--answers", str(good)),
        "bad answers": ("--answers", str(answers)),
        "bad regex": ("--format", "regex:[a-"),
        "seed -1": ("--seed", "-1"),
    }[problem]
    source = tmp_path / "nope.jsonl" if problem == "missing data" else data
    code, err = pilot(capsys, source, tmp_path / "run", *extra)
    assert code == 2
    one_line_error(err)
    assert not (tmp_path / "run").exists()


# -- issue 19.1: the estimate is of what will really run, after validation -------------------------


def test_the_estimate_follows_validation_and_names_the_loaded_model(tmp_path, capsys):
    data = write_data(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    for source, extra in (
        (data, ("--arms", "rag,finetune")),
        (empty, ()),
        (data, ("--model", "gpt2")),  # offline in tests: cannot be had
    ):
        capsys.readouterr()
        argv = ["pilot", "--data", str(source), "--out", str(tmp_path / "run"), "--arms", ARMS]
        code = main([*argv, "--embedder", "hashing", *extra])
        err = capsys.readouterr().err
        assert code == 2
        assert "Estimated" not in err and "135M" not in err, err
    assert "bm25_rag" in one_line_error(pilot(capsys, data, tmp_path / "r", "--arms", "rag")[1])
    capsys.readouterr()
    argv = ["pilot", "--data", str(data), "--out", str(tmp_path / "run"), "--arms", ARMS]
    assert main([*argv, "--model", "builtin:tiny", "--embedder", "hashing"]) == 0
    err = capsys.readouterr().err
    estimate = next(line for line in err.splitlines() if line.startswith("Estimated"))
    assert "135M" not in estimate and "M-parameter model" in estimate
    assert "4 test" not in estimate and "5 test" in estimate  # the split made, not a guess


# -- 9. exit 2 when no arm succeeded ---------------------------------------------------------------


def test_no_successful_arm_exits_2_naming_each_failure(tmp_path, capsys, monkeypatch):
    from advisor.pilot.arms import ARMS as REGISTRY

    for name in ("zero_shot", "nearest_neighbor"):
        spec = REGISTRY[name]

        def boom(ctx, test, name=name):
            raise RuntimeError(f"{name} broke")

        monkeypatch.setitem(REGISTRY, name, spec.__class__(**{**spec.__dict__, "run": boom}))
    data, run = write_data(tmp_path), tmp_path / "run"
    code, err = pilot(capsys, data, run)
    line = one_line_error(err)
    assert code == 2 and "zero_shot" in line and "nearest_neighbor broke" in line
    monkeypatch.undo()
    code, err = pilot(capsys, data, run, "--seed", "4")  # nothing finished: not locked
    assert code == 0, err


# -- 10. one line, not a traceback ---------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        ("--test-size", "nan"),
        ("--test-size", "inf"),
        ("--validation-size", "nan"),
        ("--max-new-tokens", "0"),
        ("--lora-lr", "nan"),
        ("--embedder", "hashing-x"),
    ],
)
def test_bad_numbers_are_one_line_errors(extra, tmp_path, capsys):
    code, err = pilot(capsys, write_data(tmp_path), tmp_path / "run", *extra)
    assert code == 2
    assert extra[0] in one_line_error(err) or "embedder" in err
    assert not (tmp_path / "run").exists()


def test_out_at_a_file_is_one_line_and_leaves_the_file(tmp_path, capsys):
    data = write_data(tmp_path)
    before = data.read_bytes()
    code, err = pilot(capsys, data, data)
    assert code == 2 and "is a file" in one_line_error(err)
    assert data.read_bytes() == before


def test_an_unwritable_out_is_one_line(tmp_path, capsys):
    # /sys refuses new folders even to root; a read-only folder does so for other users
    code, err = pilot(capsys, write_data(tmp_path), "/sys/advisor-pilot-run")
    assert code == 2 and "cannot write the run folder" in one_line_error(err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_out_is_one_line(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, err = pilot(capsys, write_data(tmp_path), locked / "run")
    finally:
        locked.chmod(0o700)
    assert code == 2 and "cannot write" in one_line_error(err)


# -- 11. small ones that reach the pilot ----------------------------------------------------


def test_a_file_of_duplicates_says_how_many_were_removed(tmp_path, capsys):
    data = tmp_path / "dups.jsonl"
    data.write_text("".join(json.dumps({"input": "q", "output": "a"}) + "\n" for _ in range(30)))
    code, err = pilot(capsys, data, tmp_path / "run")
    line = one_line_error(err)
    assert code == 2 and "29 duplicate row(s)" in line and "got 1" in line
    assert "--validation-size 0 drops the validation set" in line  # the flag, not Python


def test_huge_numbers_print_compactly(capsys):
    from advisor.cli.pilot import print_summary
    from advisor.report.formatting import ci, mean_ci, num

    assert num(1e308) == "1e+308" and num(-2.5e9) == "-2.5e+09" and num(0.4567) == "0.46"
    assert ci([0.1, 1e300]) == "[0.10, 1e+300]"
    assert mean_ci({"mean": 1e308, "ci95": [1e308, 1e308]}) == "1e+308 [1e+308, 1e+308]"
    block = {"mean": 1e308, "ci95": [0.0, 1e308]}
    results = {"arms": {"zero_shot": {"status": "ok", "metrics": {"token_f1": block}}}}
    print_summary(results, "run")
    line = next(x for x in capsys.readouterr().out.splitlines() if "zero_shot" in x)
    assert len(line) < 100 and "1e+308" in line


# -- killed at any point: the re-run ends where an uninterrupted run ends ------------------------


def _comparable(run: Path) -> dict:
    """What must not depend on interruptions: each arm's metrics and its answers."""
    results = json.loads((run / "results.json").read_text())
    rows = [json.loads(line) for line in (run / "predictions.jsonl").read_text().splitlines()]
    return {
        "metrics": {a: b.get("metrics") for a, b in results["arms"].items()},
        "status": {a: b["status"] for a, b in results["arms"].items()},
        "answers": sorted((r["arm"], r["example_id"], r["output"]) for r in rows),
        "split": json.loads((run / "split.json").read_text()),
    }


def test_sigkill_at_several_points_then_a_rerun_matches_an_uninterrupted_run(tmp_path, capsys):
    import signal
    import subprocess
    import sys
    import time

    data = write_data(tmp_path)
    args = ["--arms", "nearest_neighbor,zero_shot,few_shot", *FAST]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "advisor", "pilot", "--data", str(data), *args]
    killed = tmp_path / "killed"
    for delay in (1.0, 3.0, 4.5, 6.0):  # imports, checks and model, arms, rebuilds
        proc = subprocess.Popen([*cmd, "--out", str(killed)], env=env, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    done = subprocess.run([*cmd, "--out", str(killed)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    code, err = pilot(capsys, data, tmp_path / "whole", *args[2:], "--arms", args[1])
    assert code == 0, err
    assert _comparable(killed) == _comparable(tmp_path / "whole")


def test_an_interrupted_start_over_is_never_resumed_and_force_finishes_it(
    tmp_path, capsys, monkeypatch
):
    from types import SimpleNamespace

    import advisor.pilot.runfolder as runfolder

    data, run = write_data(tmp_path), tmp_path / "run"
    assert pilot(capsys, data, run)[0] == 0
    write_data(tmp_path, answer="changed")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies here, arms half removed

    monkeypatch.setattr(runfolder, "shutil", SimpleNamespace(rmtree=killed))
    assert pilot(capsys, data, run, "--force")[0] == 130
    monkeypatch.undo()
    assert json.loads((run / "settings.json").read_text())["starting_over"] is True
    code, err = pilot(capsys, data, run)  # arms are still there: not resumed, not foreign
    assert code == 2 and "start-over was interrupted" in one_line_error(err)
    assert pilot(capsys, data, run, "--force")[0] == 0
    assert all(ref.startswith("changed") for ref in references(run))


@pytest.mark.parametrize("extra", [("--seed", "-1"), ("--test-size", "nan")])
def test_demo_bad_numbers_are_one_line_errors(extra, tmp_path, capsys):
    capsys.readouterr()
    try:
        code = main(["demo", "--model", "builtin:tiny", "--out", str(tmp_path / "d"), *extra])
    except SystemExit as exc:
        code = exc.code
    assert code == 2 and extra[0] in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "d").exists()
