"""The app's pages in AppTest: every page renders from app.py, answers drive the live
recommendation and survive a refresh, data uploads are checked and bad ones explained."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from ui_helpers import PAGES, goto, new_app, texts

from advisor.ui.store import SESSIONS_DIR


@pytest.fixture(autouse=True)
def _runs(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVISOR_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("ADVISOR_APP_EMBEDDER", "hashing")
    monkeypatch.delenv("ADVISOR_MAX_UPLOAD_MB", raising=False)
    return tmp_path / "runs"


def test_every_page_renders_with_clear_empty_states():
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Questionnaire"
    assert len([s for s in texts(at.subheader) if s.startswith("Step ")]) == 7
    at = goto(at, "pilot")
    assert any("No data yet" in i for i in texts(at.info))
    assert any("No runs yet" in c for c in texts(at.caption))
    at = goto(at, "report")
    assert any("No pilot yet" in i for i in texts(at.info))
    # nothing answered, no pilot: no recommendation and no report of defaults to download
    assert any("No recommendation yet" in i for i in texts(at.info))
    assert not at.get("download_button") and not at.metric
    at = goto(at, "data")
    assert at.title[0].value == "Data"


def test_a_blank_questionnaire_gives_no_confident_answer():
    """Issue 19: the sidebar said "Prompting, confidence high" before any input."""
    at = new_app().run()
    assert not at.sidebar.metric
    sidebar = " ".join(texts(at.sidebar.info))
    assert "No recommendation yet" in sidebar and "do not count" in sidebar
    assert "high" not in " ".join(texts(at.sidebar.caption))
    # every question shows as unanswered, not as its default
    assert at.radio(key="q_prompting_effort").value is None
    assert at.radio(key="q_few_shot_tried").value is None
    assert at.number_input(key="q_labeled_examples").value is None
    # one answer gives a recommendation, but its confidence cannot rest on the defaults
    at.radio(key="q_prompting_effort").set_value("none").run()
    assert at.sidebar.metric[0].value == "Prompting"
    captions = " ".join(texts(at.sidebar.caption))
    assert "Confidence: **high**" not in captions and "1 of 15 questions answered" in captions
    assert at.session_state["advisor_session"]["answers"] == {"prompting_effort": "none"}


def test_a_rag_recommendation_opens_with_a_reason_for_rag_and_says_must_wait_once():
    at = new_app().run()
    at.radio(key="q_prompting_effort").set_value("basic")
    at.checkbox(key="q_failures__wrong_format").check()
    at.checkbox(key="q_failures__missing_knowledge").check()
    at.radio(key="q_knowledge_source").set_value(True)
    at.run()
    assert at.sidebar.metric[0].value == "RAG"
    reasons = next(m for m in texts(at.sidebar.markdown) if m.startswith("- "))
    first = reasons.split("\n")[0]
    assert "Prompting is always the starting point" not in first, first
    assert "RAG adds them" in first, first
    # finetuning and RAG + finetuning wait for the same reason: said once, naming both
    held = [c for c in texts(at.sidebar.caption) if "must wait" in c]
    assert len(held) == 1 and "Finetuning" in held[0] and "RAG + finetuning" in held[0]
    paragraph = held[0].split("must wait: ", 1)[1][:60]
    everything = " ".join(texts(at.sidebar.caption) + texts(at.sidebar.markdown))
    assert everything.count(paragraph) == 1


def test_answers_move_the_live_recommendation_and_survive_a_refresh(_runs):
    at = new_app().run()
    token = at.query_params["s"]
    at.radio(key="q_prompting_effort").set_value("none").run()
    assert at.sidebar.metric[0].value == "Prompting"
    at.radio(key="q_prompting_effort").set_value("systematic")
    at.radio(key="q_few_shot_tried").set_value(True)
    at.checkbox(key="q_failures__missing_knowledge").check()
    at.checkbox(key="q_failures__outdated_knowledge").check()
    at.radio(key="q_knowledge_source").set_value(True)
    at.radio(key="q_knowledge_change").set_value("daily")
    at.run()
    assert not at.exception
    assert at.sidebar.metric[0].value == "RAG"
    saved = json.loads((_runs / SESSIONS_DIR / f"{token}.json").read_text())
    assert saved["answers"]["failures"] == ["missing_knowledge", "outdated_knowledge"]

    # switching pages and back keeps the widgets' values
    at = goto(goto(at, "data"), "questionnaire")
    assert at.radio(key="q_knowledge_change").value == "daily"

    # a browser refresh is a new session with the same URL
    fresh = new_app(token).run()
    assert not fresh.exception
    assert fresh.radio(key="q_knowledge_change").value == "daily"
    assert fresh.checkbox(key="q_failures__outdated_knowledge").value is True
    assert fresh.sidebar.metric[0].value == "RAG"
    # a new tab (no token in its URL) starts from this user's last answers, not empty
    other = new_app().run()
    assert other.query_params["s"] != token
    assert other.radio(key="q_knowledge_change").value == "daily"
    assert other.sidebar.metric[0].value == "RAG"
    # clearing them is remembered too: the next new tab is empty
    other.button(key="q__reset").click().run()
    assert new_app().run().radio(key="q_knowledge_change").value is None


def test_answers_load_from_a_file_and_bad_files_get_a_message():
    at = new_app().run()
    upload = at.file_uploader(key="q__upload")
    team = b"model_access: api_only\nlabeled_examples: 40\nmodel_params_b: 0.001\n"
    upload.set_value(("team.yaml", team, "text/yaml"))
    at.run()
    assert not at.exception
    assert at.radio(key="q_model_access").value == "api_only"
    assert at.number_input(key="q_model_params_b").value == 0.001  # tiny but valid (> 0)
    assert at.number_input(key="q_labeled_examples").value == 40
    assert any("Loaded answers" in s for s in texts(at.success))

    at.file_uploader(key="q__upload").set_value(("x.json", b'{"prompting_effort": "lots"}', ""))
    at.run()
    assert not at.exception
    errors = " ".join(texts(at.error))
    assert "prompting_effort" in errors and "systematic" in errors
    assert at.radio(key="q_model_access").value == "api_only"  # a bad file changes nothing

    for name, content in (("a.json", b"\xff\xfe{"), ("notes.txt", b"hi"), ("a.json", b"[1,")):
        at.file_uploader(key="q__upload").set_value((name, content, ""))
        at.run()
        assert not at.exception
        assert at.error, name


def test_data_page_sample_shows_checks_and_preview():
    at = goto(new_app().run(), "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    assert not at.exception
    assert any(
        "40 examples and 12 knowledge-base document(s) ready" in s for s in texts(at.success)
    )
    leakage = next(i for i in texts(at.info) if "Leakage" in i)
    # the quick check names its embedder as the CLI does, and the one the pilot will use
    assert "hashing-256" in leakage and "The pilot repeats the check" in leakage
    assert len(at.dataframe) >= 1
    assert at.text_input(key="d__task").value.startswith("Answer the question")


def test_switching_samples_takes_the_new_samples_task():
    at = goto(new_app().run(), "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    tiny_task = at.text_input(key="d__task").value
    at.selectbox(key="d__sample").set_value("form").run()
    assert not at.exception
    task = at.text_input(key="d__task").value
    assert task != tiny_task and "JSON" in task
    assert at.session_state["advisor_session"]["data"]["task"] == task
    assert at.text_input(key="d__format").value.endswith("schema.json")


def test_upload_with_other_column_names_is_mapped(_runs):
    at = goto(new_app().run(), "data")
    at.radio(key="d__source").set_value("Upload my own files").run()
    assert any("No examples yet" in i for i in texts(at.info))
    rows = "".join(f"q{i},a{i}\n" for i in range(30))
    at.file_uploader(key="d__examples").set_value(
        ("my data.csv", b"question,answer\n" + rows.encode(), "")
    )
    at.run()
    assert not at.exception
    # no 'input'/'output' columns: the page asks which to use instead of guessing ...
    assert any("choose which column" in i for i in texts(at.info))
    assert not at.success
    # ... and mapping the columns makes the file usable
    at.selectbox(key="d__in").set_value("question")
    at.selectbox(key="d__out").set_value("answer")
    at.run()
    assert not at.exception and not at.error, texts(at.error)
    assert any("30 examples" in s for s in texts(at.success))
    stored = list((_runs / "_uploads").rglob("examples.csv"))
    assert len(stored) == 1  # stored under a generated name, not "my data.csv"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.xlsx", b"PK\x03\x04", "not a supported examples file"),
        ("data.xlsx", b"PK\x03\x04", "CSV UTF-8"),
        ("export.csv", b"PK\x03\x04\x14\x00", "Excel .xlsx workbook"),  # a renamed workbook
        ("old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1", "CSV UTF-8"),
        ("data.csv", b'input,output\n"unclosed,x\n', "quote"),
        ("data.jsonl", b'{"input": "a", "output": "b"}\nnot json\n', "line 2"),
        ("data.csv", b"input,output\n\xff\xfe\xfa,b\n", "UTF-8"),
        ("data.csv", b"", "empty"),
    ],
)
def test_wrong_or_broken_example_files_show_a_message(name, content, expected, _runs):
    at = goto(new_app().run(), "data")
    at.radio(key="d__source").set_value("Upload my own files").run()
    assert any("100,000 rows" in c for c in texts(at.caption))  # the limit, by the uploader
    at.file_uploader(key="d__examples").set_value((name, content, ""))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = texts(at.error)
    assert any(expected.lower() in e.lower() for e in errors), errors
    # the message names the file the user uploaded, never our stored copy ...
    assert any(name in e for e in errors) and not any("_uploads" in e for e in errors), errors
    # ... and a refused upload is not kept
    assert not [p for p in (_runs / "_uploads").rglob("*") if p.is_file()]


def test_uploads_over_the_size_limit_are_refused(monkeypatch):
    monkeypatch.setenv("ADVISOR_MAX_UPLOAD_MB", "0.001")  # about 1 kB
    at = goto(new_app().run(), "data")
    at.radio(key="d__source").set_value("Upload my own files").run()
    big = b"input,output\n" + b"x,y\n" * 1000
    at.file_uploader(key="d__examples").set_value(("big.csv", big, "text/csv"))
    at.run()
    assert not at.exception
    assert any("over the upload limit" in e for e in texts(at.error))
    assert any("No examples yet" in i for i in texts(at.info))


def test_knowledge_base_from_several_text_files(_runs):
    at = goto(new_app().run(), "data")
    at.radio(key="d__source").set_value("Upload my own files").run()
    rows = "".join(
        json.dumps({"input": f"q{i}", "output": f"a{i}", "doc_id": f"d{i % 2}"}) + "\n"
        for i in range(20)
    )
    at.file_uploader(key="d__examples").set_value(("ex.jsonl", rows.encode(), ""))
    at.run()
    docs = [("d0.txt", b"first document", "text/plain"), ("d1.md", b"# second", "text/plain")]
    at.file_uploader(key="d__kb").set_value(docs)
    at.run()
    assert not at.exception and not at.error, texts(at.error)
    assert any("2 knowledge-base document(s)" in s for s in texts(at.success))
    # a doc_id the knowledge base lacks is explained
    at.file_uploader(key="d__kb").set_value([docs[0]])
    at.run()
    assert not at.exception
    assert any("doc_id" in e and "'d1'" in e for e in texts(at.error)), texts(at.error)


def test_pilot_form_shows_estimates_before_starting():
    at = goto(new_app().run(), "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    at = goto(at, "pilot")
    at.radio(key="p__model_kind").set_value("Built-in tiny model (offline smoke test)").run()
    assert not at.exception
    info = " ".join(texts(at.info))
    # the built-in model's own shape (advisor.models.tiny.TinySpec): 379,200 parameters
    assert "Estimated time" in info and "0.4M-parameter model" in info
    captions = " ".join(texts(at.caption))
    assert "Finetuning memory for this model" in captions and "built-in model's shape" in captions
    assert at.button(key="p__start").disabled is False
    at.multiselect(key="p__arms").set_value([]).run()
    assert any("at least one arm" in e for e in texts(at.error))
    assert at.button(key="p__start").disabled is True


def test_all_pages_are_registered():
    at = new_app().run()
    for page in PAGES:
        goto(at, page)


def test_pilot_form_choices_survive_a_refresh():
    at = goto(new_app().run(), "data")
    token = at.query_params["s"]
    at.selectbox(key="d__sample").set_value("tiny").run()
    at = goto(at, "pilot")
    at.radio(key="p__model_kind").set_value("Built-in tiny model (offline smoke test)").run()
    assert at.number_input(key="p__lr").value == pytest.approx(3e-3)  # smoke-model default
    at.selectbox(key="p__rank").set_value(16).run()
    assert at.number_input(key="p__alpha").value == 32  # alpha follows rank (2r)
    at.number_input(key="p__test").set_value(12.0)
    at.multiselect(key="p__arms").set_value(["zero_shot", "bm25_rag"])
    at.run()
    fresh = goto(new_app(token).run(), "pilot")
    assert fresh.radio(key="p__model_kind").value.startswith("Built-in")
    assert fresh.number_input(key="p__test").value == 12.0
    assert fresh.selectbox(key="p__rank").value == 16
    assert fresh.multiselect(key="p__arms").value == ["zero_shot", "bm25_rag"]

    # data without a knowledge base: RAG arms are not offered, the saved choice drops them
    fresh = goto(fresh, "data")
    fresh.radio(key="d__source").set_value("Upload my own files").run()
    rows = "".join(f"q{i},a{i}\n" for i in range(20)).encode()
    fresh.file_uploader(key="d__examples").set_value(("e.csv", b"input,output\n" + rows, ""))
    fresh.run()
    again = goto(new_app(token).run(), "pilot")
    arms = again.multiselect(key="p__arms")
    assert "RAG (BM25)" not in arms.options and "Zero-shot prompting" in arms.options
    assert arms.value == ["zero_shot"]


def test_the_report_files_print_the_recommendation_on_screen(monkeypatch):
    """The page decides once; the downloads carry that decision, not a second one.

    Every decision made is numbered, so a report that decided again would print another
    number than the page's "Next step".
    """
    import importlib

    decide = importlib.import_module("advisor.decide.recommend")  # the module, not the function
    real, made = decide.recommend, []

    def numbered(*args, **kwargs):
        made.append(None)
        return replace(real(*args, **kwargs), next_step=f"Decision number {len(made)}.")

    monkeypatch.setattr(decide, "recommend", numbered)
    at = new_app().run()
    at.radio(key="q_prompting_effort").set_value("systematic")
    at = goto(at.run(), "report")
    assert not at.exception and not at.error
    shown = next(m for m in texts(at.markdown) if m.startswith("**Next step:**"))
    number = shown.removeprefix("**Next step:** ")
    files = at.session_state["report_files"]
    assert number.startswith("Decision number ")
    assert number in files["md"].decode()
    assert json.loads(files["json"])["recommendation"]["next_step"] == number


def test_report_page_offers_the_training_setup_when_finetuning_is_planned():
    import io
    import zipfile

    at = new_app().run()
    at.radio(key="q_prompting_effort").set_value("systematic")
    at.radio(key="q_few_shot_tried").set_value(True)
    at.checkbox(key="q_failures__wrong_format").check()
    at.number_input(key="q_labeled_examples").set_value(800)
    at.number_input(key="q_gpu_memory_gb").set_value(24.0)
    at = goto(at.run(), "data")
    at.selectbox(key="d__sample").set_value("form").run()
    at = goto(at, "report")
    label = "Training setup (TRL, Axolotl, LLaMA-Factory) .zip"
    assert label not in [b.label for b in at.get("download_button")]  # no model named yet
    plan = next(d.value for d in at.dataframe if "setting" in d.value.columns)
    fits = plan.set_index("setting")["value"]["fits your GPU"]
    assert fits in ("yes", "no")  # not True / False
    at.text_input(key="export_model").set_value("my-org/my-8b").run()
    assert not at.exception and not at.error
    assert label in [b.label for b in at.get("download_button")]
    from advisor.decide.questionnaire import parse_answers
    from advisor.decide.recommend import recommend
    from advisor.ui.report_page import export_zip

    rec = recommend(
        parse_answers(
            {
                "prompting_effort": "systematic",
                "few_shot_tried": True,
                "failures": ["wrong_format"],
                "labeled_examples": 800,
                "gpu_memory_gb": 24.0,
            }
        )
    ).to_dict()
    plan = json.dumps(rec["finetune_plan"], sort_keys=True)
    from advisor.data.samples import get_sample

    data = str(get_sample("form").data)
    names = zipfile.ZipFile(io.BytesIO(export_zip(plan, "my-org/my-8b", None, data))).namelist()
    assert {n.split("/")[0] for n in names} >= {"trl", "axolotl", "llamafactory"}


def test_chat_upload_is_named_back_and_its_system_prompt_becomes_the_task(_runs):
    system = "You answer questions about trains in a few words."
    rows = "".join(
        json.dumps(
            {
                "messages": [
                    {"role": "system", "content": system},
                    {"role": "user", "content": f"Question {i}?"},
                    {"role": "assistant", "content": f"Answer {i}"},
                ]
            }
        )
        + "\n"
        for i in range(20)
    )
    at = goto(new_app().run(), "data")
    at.radio(key="d__source").set_value("Upload my own files").run()
    at.file_uploader(key="d__examples").set_value(("chat.jsonl", rows.encode(), ""))
    at.run()
    assert not at.exception and not at.error, texts(at.error)
    infos = [i.replace("\\", "") for i in texts(at.info)]  # markdown escapes dropped
    assert any("Read as OpenAI chat JSONL: 20 conversations" in i for i in infos), infos
    assert not any("choose which column" in i for i in infos)  # no mapping asked for
    assert at.text_input(key="d__task").value == system
    assert any("20 examples" in s for s in texts(at.success))


def test_a_zipped_datasets_folder_uploads(_runs):
    import io
    import zipfile
    from pathlib import Path

    folder = Path(__file__).parent / "fixtures" / "formats" / "hf_dataset"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"hf_dataset/{path.relative_to(folder).as_posix()}")
    at = goto(new_app().run(), "data")
    at.radio(key="d__source").set_value("Upload my own files").run()
    at.file_uploader(key="d__examples").set_value(("ds.zip", buffer.getvalue(), ""))
    at.run()
    assert not at.exception
    infos = [i.replace("\\", "") for i in texts(at.info)]
    assert any("Read as Alpaca Hugging Face datasets folder" in i for i in infos), infos
    # all 4 rows of both splits were read (the fixture is too small for a pilot's split)
    assert any("got 4" in e for e in texts(at.error)), texts(at.error)


def test_the_pilot_widgets_show_the_settings_help_the_cli_shows():
    from advisor.finetune.settings import LoraSettings
    from advisor.pilot.context import PilotSettings
    from advisor.settings_help import help_for

    at = goto(new_app().run(), "data")
    at.selectbox(key="d__sample").set_value("tiny").run()
    at = goto(at, "pilot")
    assert not at.exception
    assert at.number_input(key="p__k").help == help_for(PilotSettings, "few_shot_k")
    assert at.number_input(key="p__maxtest").help == help_for(PilotSettings, "max_test")
    assert at.number_input(key="p__epochs").help == help_for(LoraSettings, "epochs")
    assert at.selectbox(key="p__targets").help == help_for(
        LoraSettings, "target_modules", default=False
    )
