"""``advisor pilot`` under random arguments and run-folder states: only clean exits.

Every combination ends in exit 0 with finished results, or exit 2 with one line that says
what to fix; never a traceback, never an arm reused from other inputs or settings, never a
file the user made replaced. The built-in model and the two fast arms keep each example
well under a second once the model is built.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.cli import main

BASE = ["--model", "builtin:tiny", "--embedder", "hashing", "--quiet"]
STATES = (
    "missing",  # --out does not exist yet
    "empty",  # an empty folder
    "empty name",  # --out ""
    "file",  # --out names a file
    "foreign",  # a folder of the user's own files
    "finished",  # a run of the same data, arms nearest_neighbor,zero_shot, seed 0
    "stale data",  # that run, then the data file edited in place
    "corrupt settings",  # that run with settings.json garbled
    "list settings",  # that run with settings.json holding a list
    "no settings",  # that run with settings.json deleted
)


def write_data(path: Path, answer: str) -> None:
    rows = [{"input": f"What is item {i}?", "output": f"{answer} {i}"} for i in range(20)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def snapshot(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {"<file>": folder.read_bytes()} if folder.is_file() else {}
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def run(argv: list[str], capsys) -> tuple[int, str]:
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    return code, capsys.readouterr().err


def prepare(state: str, tmp: Path, data: Path, capsys) -> str:
    """Make the run folder ``state`` describes; returns the --out argument."""
    out = tmp / "run"
    if state == "empty name":
        return ""
    if state == "empty":
        out.mkdir()
    elif state == "file":
        out.write_text("a file of the user's, not a folder\n")
    elif state == "foreign":
        out.mkdir()
        (out / "results.json").write_text("the user's own results\n")
        (out / "notes.md").write_text("# notes\n")
    elif state != "missing":
        argv = ["pilot", "--data", str(data), "--out", str(out)]
        code, err = run([*argv, "--arms", "nearest_neighbor,zero_shot", *BASE], capsys)
        assert code == 0, err
        if state == "stale data":
            write_data(data, "edited")
        elif state == "corrupt settings":
            (out / "settings.json").write_text("{ garbled")
        elif state == "list settings":
            (out / "settings.json").write_text("[1, 2, 3]")
        elif state == "no settings":
            (out / "settings.json").unlink()
    return str(out)


@settings(
    max_examples=15,  # each new split builds a tiny model (~1-5 s): 15 stay near 30 s
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    state=st.sampled_from(STATES),
    arms=st.sampled_from(
        ["nearest_neighbor", "zero_shot", "nearest_neighbor,zero_shot", "zero_shot,zero_shot"]
        + ["rag", "lora_rag", "gpt5"]
    ),
    seed=st.sampled_from([None, "0", "3", "-1", "4294967296", "x"]),
    test_size=st.sampled_from([None, "0.2", "6", "nan", "inf", "0", "1.5", "-1", "100"]),
    validation=st.sampled_from([None, "0", "0.1", "2", "nan", "0.95"]),
    max_new=st.sampled_from([None, "4", "0", "-3"]),
    fmt=st.sampled_from([None, "json", r"regex:\w+ \d+", "regex:[a-", "schema", "no schema"]),
    answers=st.sampled_from([None, "good", "twice", "absent"]),
    force=st.booleans(),
)
def test_any_pilot_ends_cleanly_and_loses_nothing(
    capsys, state, arms, seed, test_size, validation, max_new, fmt, answers, force
):
    with tempfile.TemporaryDirectory(prefix="advisor-fuzz-") as name:
        tmp = Path(name)
        data = tmp / "ex.jsonl"
        write_data(data, "answer")
        out = prepare(state, tmp, data, capsys)
        (tmp / "schema.json").write_text('{"type": "string"}')
        (tmp / "good.yaml").write_text("task: answer briefly\n")
        (tmp / "twice.yaml").write_text("task: a\ntask: b\n")
        formats = {"schema": str(tmp / "schema.json"), "no schema": str(tmp / "nope.json")}
        argv = ["pilot", "--data", str(data), "--out", out, "--arms", arms, *BASE]
        for flag, value in (
            ("--seed", seed),
            ("--test-size", test_size),
            ("--validation-size", validation),
            ("--max-new-tokens", max_new),
            ("--format", formats.get(fmt, fmt)),
            ("--answers", str(tmp / f"{answers}.yaml") if answers else None),
        ):
            if value is not None:
                argv += [flag, value]
        if force:
            argv.append("--force")
        user_files = {p: p.read_bytes() for p in tmp.glob("*.*") if p.is_file()}
        before = snapshot(Path(out)) if out else snapshot(Path.cwd())

        code, err = run(argv, capsys)

        assert code in (0, 2), (code, err)
        assert "Traceback" not in err, err
        for path, content in user_files.items():  # data, answers, schema, a file at --out
            assert path.read_bytes() == content, f"{path} was replaced"
        if state == "foreign" or state == "file":
            assert code == 2 and snapshot(Path(out)) == before, "a user's file was written"
        if code == 2:
            lines = [line for line in err.splitlines() if line.strip()]
            assert len(lines) == 1 and ": error: " in lines[0], err
            if "no arm succeeded" not in err:  # refused: the folder is as it was
                assert (snapshot(Path(out)) if out else snapshot(Path.cwd())) == before
            return
        run_dir = Path(out)
        results = json.loads((run_dir / "results.json").read_text())
        assert results["state"] == "finished"
        assert any(b["status"] == "ok" for b in results["arms"].values())
        current = {json.loads(line)["output"] for line in data.read_text().splitlines()}
        rows = [json.loads(x) for x in (run_dir / "predictions.jsonl").read_text().splitlines()]
        assert rows and all(row["reference"] in current for row in rows), "a stale arm"
        saved = json.loads((run_dir / "settings.json").read_text())
        assert saved["seed"] == int(seed or 0)
