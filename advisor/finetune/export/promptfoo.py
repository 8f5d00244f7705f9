"""promptfoo: the pilot as a ``promptfooconfig.yaml`` the team keeps evaluating with.

Why: the pilot answers "which approach?" once; the team then iterates on prompts and
models in the eval tool they already run. The export carries the pilot over exactly:

- **prompts**, one per arm that ran, built by the pilot's own prompt builder
  (:func:`advisor.pilot.prompts.user_message`) with ``{{input}}`` where the example goes and,
  per test case, the few-shot examples (``{{examples}}``) and retrieved passages
  (``{{context_<arm>}}``) that arm's prompt held in the pilot. Chat prompts are JSON, which
  promptfoo parses before filling in variables, so quotes in the data cannot break them;
  literal text holding ``{{`` is kept out of Nunjucks with ``{% raw %}``.
- **tests**: the pilot's test split, ``vars.input`` / ``vars.expected`` per item.
- **assertions** (``defaultTest``): the pilot's primary metric, scored by advisor's own
  metric function in ``advisor_metric.py`` (a ``python`` assertion, so promptfoo's score is
  the pilot's score), with a pass threshold; plus the output format when one was set.
- **providers**: the endpoint (``--provider``, else the run's ``--api-base``) through
  promptfoo's own provider ids, or the run's local model through ``advisor_provider.py``;
  each LoRA arm that finished is a provider of its own (base model + adapter) that answers
  only its own prompt, as in the pilot.

Schema: the config is checked in the tests against promptfoo's JSON schema for its config
(``tests/fixtures/promptfoo/config-schema.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.catalog import CATALOG, retrieval_arms
from advisor.errors import AdvisorError
from advisor.finetune.export.promptfoo_files import METRIC_PY, PROVIDER_PY
from advisor.pilot.rundir import atomic_write_text, read_json, read_jsonl

CONFIG = "promptfooconfig.yaml"
RUN = "npx promptfoo@latest eval && npx promptfoo@latest view"
PROMPT_ARMS = tuple(name for name, info in CATALOG.items() if info.needs_llm)
RAG_ARMS = retrieval_arms()
LORA_ARMS = tuple(name for name, info in CATALOG.items() if info.trains)
PASS_AT = 0.5  # a graded (not 0/1) metric passes a test at this score; the mean is compared
_SHOT_IN, _SHOT_OUT = "\x00shot-input\x00", "\x00shot-output\x00"

_HEADER = (
    "# yaml-language-server: $schema=https://promptfoo.dev/config-schema.json\n"
    "# promptfoo config written by `advisor export --format promptfoo` from a pilot run.\n"
    "# Run from this folder: npx promptfoo@latest eval   (then: npx promptfoo@latest view)\n"
)

METRIC_FUNCTIONS = ("exact_match", "token_f1", "answer_containment", "rouge_l", "field_accuracy")


def literal(text: str) -> str:
    """Text promptfoo's Nunjucks must not interpret (a task may hold ``{{`` or ``{%``)."""
    if any(mark in text for mark in ("{{", "{%", "{#")):
        return "{% raw %}" + text + "{% endraw %}"
    return text


def user_template(arm: str, reminder: str | None) -> str:
    """The arm's user turn with promptfoo variables where the pilot put the data."""
    from advisor.pilot.prompts import Context, Shot, user_message

    if arm == "few_shot":
        text = user_message("{{input}}", [Shot(_SHOT_IN, _SHOT_OUT)], (), reminder)
        return text.replace(f"Input: {_SHOT_IN}\nOutput: {_SHOT_OUT}", "{{examples}}")
    if arm in RAG_ARMS:
        return user_message("{{input}}", (), [Context("", f"{{{{context_{arm}}}}}")], reminder)
    return user_message("{{input}}", (), (), reminder)


def _run_parts(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    settings = read_json(run_dir / "settings.json")
    results = read_json(run_dir / "results.json")
    split = read_json(run_dir / "split.json")
    if not isinstance(settings, dict) or not isinstance(split, dict):
        raise AdvisorError(f"{run_dir} is not a pilot run folder (no settings.json/split.json)")
    if not isinstance(results, dict) or not results.get("arms"):
        raise AdvisorError(f"{run_dir} has no finished arms yet: let the pilot finish first")
    return settings, results, split


def _examples(settings: dict[str, Any], data_path: str | Path | None) -> dict[str, Any]:
    from advisor.data.load import load_examples

    path = data_path or settings.get("data")
    if not path or not Path(path).exists():
        raise AdvisorError(
            f"the pilot's examples file {str(path)!r} is gone: pass --data with the same file"
        )
    columns = {k: settings[k] for k in ("input_col", "output_col", "doc_id_col") if k in settings}
    return {e.id: e for e in load_examples(path, **columns).examples}


def _chunk_texts(settings: dict[str, Any]) -> dict[str, str]:
    from advisor.data.load import load_knowledge_base
    from advisor.retrieval import chunk_documents

    if not settings.get("kb") or not Path(settings["kb"]).exists():
        return {}
    chunks = chunk_documents(
        load_knowledge_base(settings["kb"]),
        settings.get("chunk_words", 150),
        settings.get("chunk_overlap", 30),
    )
    return {c.chunk_id: c.text for c in chunks}


def _assertions(settings: dict[str, Any], primary: str) -> list[dict[str, Any]]:
    from advisor.evaluation.metrics import METRICS

    if primary == "semantic_similarity":
        out = [{"type": "similar", "value": "{{expected}}", "threshold": 0.8}]
    elif primary in METRIC_FUNCTIONS:
        binary = METRICS[primary].binary
        out = [
            {
                "type": "python",
                "value": f"file://advisor_metric.py:{primary}",
                "threshold": 1.0 if binary else PASS_AT,
            }
        ]
    else:
        raise AdvisorError(f"the primary metric {primary!r} has no promptfoo assertion")
    out[0]["metric"] = primary
    if settings.get("format"):
        from advisor.evaluation.metrics import FormatSpec

        spec = FormatSpec.from_user(settings["format"])
        check: dict[str, Any] = {"type": "is-json", "metric": "format_valid"}
        if spec.kind == "json_schema":
            check["value"] = dict(spec.schema or {})
        elif spec.kind == "regex":
            check = {"type": "regex", "value": f"^(?:{spec.pattern})$", "metric": "format_valid"}
        out.append(check)
    return out


def _base_provider(
    settings: dict[str, Any], results: dict[str, Any], provider: str | None, max_new: int
) -> dict[str, Any]:
    """Who answers the prompting and RAG arms: the named endpoint, the run's, or its model."""
    if provider:
        from advisor.models.openai_api.providers import parse_provider

        try:
            p = parse_provider(provider)
        except ValueError as exc:
            raise AdvisorError(str(exc)) from None
        if p.kind == "ollama" and p.base_url == "http://localhost:11434/v1":
            return {"id": p.promptfoo_id, "label": provider, "config": {"temperature": 0}}
        config: dict[str, Any] = {"temperature": 0, "max_tokens": max_new}
        if p.kind != "openai":  # a server speaking the OpenAI API at its own address
            config.update(apiBaseUrl=p.base_url, apiKeyEnvar=p.key_env)
            return {
                "id": f"openai:chat:{p.model or 'default'}",
                "label": provider,
                "config": config,
            }
        return {"id": p.promptfoo_id, "label": provider, "config": config}
    if settings.get("api_base"):
        served = next(
            (b.get("model") for b in results["arms"].values() if b.get("backend") == "api"),
            None,
        )
        model = settings.get("api_model") or served or "default"
        config = {
            "apiBaseUrl": settings["api_base"],
            "apiKeyEnvar": settings.get("api_key_env") or "OPENAI_API_KEY",
            "temperature": 0,
            "max_tokens": max_new,
        }
        return {"id": f"openai:chat:{model}", "label": model, "config": config}
    model = results.get("model") or settings.get("model")
    return {
        "id": "file://advisor_provider.py",
        "label": str(model),
        "config": {"model": str(model), "max_new_tokens": max_new},
    }


def build_config(
    run_dir: str | Path,
    provider: str | None = None,
    data_path: str | Path | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The promptfoo config for a pilot run, and notes for its README."""
    import json

    from advisor.evaluation.metrics import FormatSpec
    from advisor.evaluation.primary_metric import answer_style_hint, choose_primary_metric
    from advisor.models.hf import DEFAULT_MODEL
    from advisor.pilot.prompts import system_message

    run = Path(run_dir)
    settings, results, split = _run_parts(run)
    by_id = _examples(settings, data_path)
    test = [by_id[i] for i in map(str, split.get("test", [])) if i in by_id]
    if not test:
        raise AdvisorError(f"none of {run}'s test items are in the examples file any more")
    refs = [by_id[i].output for i in map(str, split.get("train", [])) if i in by_id] or [
        by_id[i].output for i in map(str, split.get("validation", [])) if i in by_id
    ]
    hint = (
        FormatSpec.from_user(settings["format"]).prompt_hint() if settings.get("format") else None
    )
    reminder = answer_style_hint(refs)
    system = system_message(settings.get("task") or "", hint, reminder)
    notes: list[str] = []

    ok = [a for a in PROMPT_ARMS if results["arms"].get(a, {}).get("status") == "ok"]
    preds = {
        a: {p["example_id"]: p for p in read_jsonl(run / "arms" / f"{a}.predictions.jsonl")}
        for a in ok
    }
    if "few_shot" in ok and not any(p.get("shot_ids") for p in preds["few_shot"].values()):
        ok.remove("few_shot")
        notes.append(
            "few_shot is left out: this run predates recording which examples each few-shot "
            "prompt held; re-run the pilot's few_shot arm to export it"
        )
    adapters = {a: run / "adapters" / a for a in LORA_ARMS}
    for arm in [a for a in ok if a in LORA_ARMS]:
        if not (adapters[arm] / "adapter_model.safetensors").is_file():
            ok.remove(arm)
            notes.append(f"{arm} is left out: its adapter is not in {run / 'adapters' / arm}")
    if not ok:
        raise AdvisorError(
            f"{run} has no finished prompting, RAG or LoRA arm to export to promptfoo"
        )

    chunks = _chunk_texts(settings) if any(a in RAG_ARMS for a in ok) else {}
    tests = []
    for ex in test:
        variables: dict[str, str] = {"input": ex.input, "expected": ex.output}
        if "few_shot" in ok:
            shots = [by_id[i] for i in preds["few_shot"].get(ex.id, {}).get("shot_ids", [])]
            variables["examples"] = "\n\n".join(
                f"Input: {s.input.strip()}\nOutput: {s.output.strip()}" for s in shots if s
            )
        for arm in (a for a in ok if a in RAG_ARMS):
            ids = preds[arm].get(ex.id, {}).get("retrieved_ids", [])
            variables[f"context_{arm}"] = "\n\n".join(chunks.get(i, "").strip() for i in ids)
        tests.append({"description": ex.id, "vars": variables})

    prompts = [
        {
            "label": arm,
            "raw": json.dumps(
                [
                    {"role": "system", "content": literal(system)},
                    {"role": "user", "content": user_template(arm, reminder)},
                ],
                ensure_ascii=False,
                indent=2,
            ),
        }
        for arm in ok
    ]
    max_new = int(settings.get("max_new_tokens") or 64)
    base = _base_provider(settings, results, provider, max_new)
    base["prompts"] = [a for a in ok if a not in LORA_ARMS]
    providers = [base] if base["prompts"] else []
    local = str(settings.get("model") or DEFAULT_MODEL)
    for arm in (a for a in ok if a in LORA_ARMS):
        providers.append(
            {
                "id": "file://advisor_provider.py",
                "label": f"{arm} ({local} + adapter)",
                "config": {
                    "model": local,
                    "adapter": str(adapters[arm].resolve()),
                    "max_new_tokens": max_new,
                },
                "prompts": [arm],
            }
        )
    primary = results.get("primary_metric") or choose_primary_metric(refs).name
    config = {
        "description": f"advisor pilot {run.name}: {', '.join(ok)} on {len(tests)} test items",
        "prompts": prompts,
        "providers": providers,
        "defaultTest": {"assert": _assertions(settings, primary)},
        "tests": tests,
    }
    if results.get("smoke"):
        notes.append("the pilot ran on the built-in smoke model: pass --provider for a real one")
    return config, notes


def write(
    run_dir: str | Path,
    folder: Path,
    provider: str | None = None,
    data_path: str | Path | None = None,
) -> list[Path]:
    """``promptfooconfig.yaml`` with its provider and assertion files; returns them."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        """Multi-line text (the chat prompts, few-shot blocks, passages) as YAML ``|`` blocks,
        so the config reads like the prompts it holds."""

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, text)
    config, notes = build_config(run_dir, provider, data_path)
    path = folder / CONFIG
    body = yaml.dump(config, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    atomic_write_text(path, _HEADER + body)
    written = [path]
    python_files = {"advisor_provider.py": PROVIDER_PY, "advisor_metric.py": METRIC_PY}
    for name, text in python_files.items():
        atomic_write_text(folder / name, text)
        written.append(folder / name)
    check = config["defaultTest"]["assert"][0]
    primary, threshold = check["metric"], check["threshold"]
    lines = [
        "# promptfoo: keep evaluating the pilot's arms",
        "",
        f"Written by `advisor export` from the pilot run `{Path(run_dir).name}`. Run here:",
        "",
        f"    {RUN}",
        "",
        f"- Prompts: {', '.join(p['label'] for p in config['prompts'])} (the pilot's own).",
        f"- Tests: the pilot's {len(config['tests'])} test items (`vars.input`, `vars.expected`).",
        f"- Assertion: {primary}, the pilot's primary metric"
        + (
            ", scored by advisor's own function (`advisor_metric.py`)"
            if check["type"] == "python"
            else ""
        )
        + f"; a test passes at a score of {threshold:g} (compare the mean per prompt).",
        f"- Providers: {', '.join(p['label'] for p in config['providers'])}.",
        "",
        "`advisor_provider.py` and `advisor_metric.py` import advisor: set "
        "`PROMPTFOO_PYTHON` to the Python that has it installed. Add providers (e.g. "
        "`openai:chat:gpt-4o-mini`) to compare more models on the same prompts.",
    ]
    lines += [f"- Note: {n}." for n in notes]
    readme = folder / "README.md"
    atomic_write_text(readme, "\n".join(lines) + "\n")
    return [*written, readme]
