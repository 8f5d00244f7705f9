"""Collect everything a report shows into one JSON-ready dict (this dict *is* report.json).

Why the core takes plain dicts: the report must work from a questionnaire alone, a pilot
alone, or both, and from the app as well as the CLI. ``build_report_data`` only needs the
recommendation's ``to_dict()``, the pilot's ``results.json`` and the answers as dicts;
``build_report`` is the thin wrapper that reads a run folder and calls the decision rules.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from advisor.decide.costs import Prices, project_costs
from advisor.errors import AdvisorError
from advisor.report import formatting as fmt
from advisor.report.evidence_data import evidence_data
from advisor.report.pilot_data import as_dict, build_pilot, finite, load_predictions
from advisor.report.recommendation_data import build_recommendation
from advisor.schema import PilotResults, parse_results, read_results

REPORT_VERSION = 1
CI_LEVEL = 95
DEFAULT_MAX_EXAMPLES = 3
FRAMEWORK_SOURCE = "Chip Huyen, AI Engineering (O'Reilly, 2025), finetuning chapter"
# Which cost row stands for a recommended approach, and what it is compared against.
APPROACH_COST = {
    "prompting": "few_shot",
    "rag": "rag",
    "finetune": "finetune",
    "rag+finetune": "rag+finetune",
}
BREAK_EVEN_VERSUS = {"finetune": "few_shot", "rag+finetune": "rag"}


def _costs(
    pilot: dict | None, answers: Mapping, rec: dict | None, plan: dict | None, prices: Prices | None
) -> dict[str, Any]:
    measured = {a["arm"]: a["tokens"] for a in (pilot or {}).get("arms", []) if a["tokens"]}
    qpd = finite(answers.get("queries_per_day"))
    n_train = finite(answers.get("labeled_examples")) or finite(
        ((pilot or {}).get("data") or {}).get("n_train")
    )
    epochs = finite((plan or {}).get("epochs"))
    costs = project_costs(
        prices,
        qpd,
        measured,
        n_train_examples=int(n_train or 0) or None,
        epochs=int(epochs) if epochs else None,
    )
    headline = None
    if rec and rec["primary"] in APPROACH_COST:
        option = APPROACH_COST[rec["primary"]]
        row = next(o for o in costs["options"] if o["option"] == option)
        headline = {
            "option": option,
            "label": row["label"],
            "cost_per_month": row["cost_per_month"],
            "break_even": None,
        }
        versus = BREAK_EVEN_VERSUS.get(rec["primary"])
        if versus:
            headline["break_even"] = next(
                b for b in costs["break_even"] if b["option"] == option and b["versus"] == versus
            )
    costs["headline"] = headline
    return costs


def _summary(
    rec: dict | None,
    pilot: dict | None,
    costs: dict,
    smoke: bool,
    answered: bool = True,
    example_prices: bool = False,
) -> str:
    parts: list[str] = []
    if smoke:
        parts.append(
            "Smoke run: the pilot used the built-in tiny model, so its numbers check "
            "the pipeline and say nothing about the decision."
        )
    if rec:
        conf = f" (confidence {rec['confidence_text']})" if rec["confidence_text"] else ""
        parts.append(f"Recommendation: {rec['primary_label']}{conf}.")
        if not answered:
            parts.append(
                "No questionnaire answers were given: it rests on what the pilot measured, "
                "with the documented defaults for what a pilot cannot measure."
            )
        if rec["next_step"]:
            parts.append(f"Next step: {rec['next_step'].rstrip('.')}.")
    else:
        parts.append(
            "No ranked recommendation: it needs the questionnaire answers, and none were "
            "given. This report shows the pilot evidence only."
        )
    best = (pilot or {}).get("best_arm")
    if pilot and best:
        n = f"{pilot['n_test']} test items" if pilot["n_test"] else "the test items"
        ci_text = f", {CI_LEVEL}% CI {fmt.ci(best['ci95'])}" if best.get("ci95") else ""
        metric = fmt.label(best["metric"], fmt.METRIC_LABELS)
        if best.get("tied"):
            parts.append(
                f"In the pilot ({n}), no arm stood out: {len(best['tied'])} arms tied for the "
                f"best {metric} at {fmt.num(best['mean'])}."
            )
        else:
            parts.append(
                f"In the pilot ({n}), the best arm by {metric} was {best['label']} at "
                f"{fmt.num(best['mean'])}{ci_text}."
            )
        mde = pilot["mde"].get(best["metric"])
        if mde is not None:
            parts.append(
                f"Differences under ~{fmt.points(mde)} points are noise at this "
                f"test size; {len(pilot['comparisons'])} of {pilot['n_comparisons']} "
                f"paired comparisons were significant."
            )
    elif not pilot:
        parts.append("No pilot was run: the recommendation rests on the questionnaire alone.")
    head = costs.get("headline")
    if head:
        qpd = fmt.integer(costs["queries_per_day"])
        assumed = "an assumed " if costs.get("queries_per_day_assumed") else ""
        priced = " at the example prices (illustrations, not quotes)" if example_prices else ""
        parts.append(
            f"At {assumed}{qpd} queries per day, {head['label']} would cost about "
            f"{fmt.money(head['cost_per_month'], costs['currency'])} per month{priced}."
        )
        be = head.get("break_even")
        if be:
            when = (
                "never pays back its one-off cost"
                if be["never"]
                else f"pays back its one-off cost after {fmt.days(be['days'])} days"
            )
            parts.append(f"Finetuning {when} compared with {be['versus_label']}.")
    return " ".join(parts)


def _answers_dict(answers: Any) -> dict[str, Any] | None:
    if answers is None:
        return None
    from advisor.decide.questionnaire import Answers, answers_to_dict

    if isinstance(answers, Answers):
        return dict(answers_to_dict(answers))
    if isinstance(answers, Mapping):
        return dict(answers)
    raise AdvisorError(f"answers must be a mapping of questionnaire keys (not {type(answers)})")


def _default_answers() -> dict[str, Any]:
    from advisor.decide.questionnaire import Answers, answers_to_dict

    return dict(answers_to_dict(Answers()))


def _question_label(key: str) -> str:
    from advisor.decide.questionnaire import QUESTION_BY_KEY

    q = QUESTION_BY_KEY.get(key)
    return q.label if q is not None else key


def build_report_data(
    recommendation: Mapping | None,
    results: Mapping | PilotResults | None,
    answers: Mapping | None,
    prices: Prices | None = None,
    *,
    predictions: list[dict] | None = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    generated_at: str | None = None,
    warnings: list[str] | None = None,
    answered: Collection[str] | None = None,
) -> dict[str, Any]:
    """The report data: every section the renderers show, every number they print.

    ``recommendation`` is ``Recommendation.to_dict()``; ``results`` the pilot's results.json
    (decoded, or as :func:`advisor.schema.read_results` read it; a malformed one is an
    AdvisorError naming the field, as in ``advisor recommend --pilot``);
    ``answers`` the questionnaire answers; ``predictions`` rows of predictions.jsonl. Any of
    them may be None: the matching sections become short empty-state lines. ``answered``
    names the questions the user answered (None: every key of ``answers`` counts); the rest
    are shown as defaults, never as the user's answers. A recommendation made without any
    answers (a pilot alone, the demo) lists the defaults it used, labelled as such.
    """
    given = _answers_dict(answers)
    answered_set = set(answered) if answered is not None else None
    answers_d = given
    if given is None and recommendation:
        answers_d, answered_set = _default_answers(), set()
    if isinstance(results, PilotResults):
        parsed = results
    elif isinstance(results, Mapping):
        parsed = parse_results(dict(results), origin="pilot results")
    else:
        parsed = None
    results_d = dict(parsed.raw) if parsed is not None else None
    rec = build_recommendation(recommendation, answers_d, answered_set) if recommendation else None
    pilot = build_pilot(parsed, predictions, max_examples) if parsed else None
    if pilot is not None:
        pilot.update(evidence_data(results_d))  # data_curve, seed_spread (opt-in blocks)
    plan = as_dict((recommendation or {}).get("finetune_plan")) or None
    smoke = bool(results_d and results_d.get("smoke"))
    # costs read only what the user said (an unanswered traffic figure is flagged "assumed")
    said = {k: v for k, v in (answers_d or {}).items() if answered_set is None or k in answered_set}
    costs = _costs(pilot, said, rec, plan, prices)
    task = (answers_d or {}).get("task") or as_dict((results_d or {}).get("config")).get("task")
    sources = [FRAMEWORK_SOURCE]
    for reason in (rec or {}).get("reasons", []):
        if reason["source"] and reason["source"] not in sources:
            sources.append(reason["source"])
    return {
        "report_version": REPORT_VERSION,
        "generated_at": generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "title": "Prompting, RAG or finetuning?",
        "task": str(task) if task else None,
        "smoke": smoke,
        "smoke_notice": fmt.SMOKE_NOTICE if smoke else None,
        "ci_level": CI_LEVEL,
        "summary": _summary(
            rec,
            pilot,
            costs,
            smoke,
            answered=given is not None and answered_set != set(),
            example_prices=prices is None,
        ),
        "recommendation": rec,
        "finetune_plan": plan,
        "answers": (
            [
                {
                    "key": k,
                    "label": _question_label(k),
                    "value": v,
                    "answered": answered_set is None or k in answered_set,
                }
                for k, v in answers_d.items()
            ]
            if answers_d is not None
            else None
        ),
        "answers_given": given is not None and answered_set != set(),
        "pilot": pilot,
        "costs": costs,
        "references": sources,
        "warnings": list(warnings or []),
    }


def build_report(
    run_dir: str | Path | None = None,
    answers_path: str | Path | None = None,
    prices: Prices | None = None,
    *,
    answers: Any = None,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    answered: Collection[str] | None = None,
    recommendation: Mapping | None = None,
) -> dict[str, Any]:
    """Report data from a run folder and/or questionnaire answers.

    ``recommendation`` (``Recommendation.to_dict()``) is one already made from the same
    answers and run, e.g. the one the app shows on screen: the report then prints that very
    recommendation instead of deciding a second time.

    ``answered`` (the app passes it) names the questions the user really answered: the
    others do not count towards the confidence and are shown as defaults.

    ``RUN_DIR/answers.json`` is used when no answers are passed. ``answers`` (an ``Answers``
    object or a dict, e.g. from the app) wins over ``answers_path``. Raises AdvisorError when
    there is neither a pilot nor answers to report on.
    """
    results = predictions = None
    warnings: list[str] = []
    if run_dir is not None:
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise AdvisorError(
                f"run folder {run_dir} does not exist; pass the folder `advisor pilot --out` wrote"
            )
        if (run_dir / "results.json").is_file():
            results = read_results(run_dir / "results.json")
            if (run_dir / "predictions.jsonl").is_file():
                predictions, bad = load_predictions(run_dir / "predictions.jsonl")
                if bad:
                    warnings.append(f"{bad} unreadable line(s) in predictions.jsonl were skipped")
        if answers is None and answers_path is None and (run_dir / "answers.json").is_file():
            answers_path = run_dir / "answers.json"
    if answers is None and answers_path is not None:
        from advisor.decide.answers_file import load_answers

        answers = load_answers(answers_path)
    elif isinstance(answers, Mapping):
        from advisor.decide.questionnaire import parse_answers

        answers = parse_answers(answers)  # validates: unknown keys/values are AnswersError
    if results is None and answers is None:
        where = f" ({run_dir} has no results.json)" if run_dir is not None else ""
        raise AdvisorError(
            "nothing to report on: give a run folder with results.json "
            f"and/or --answers FILE{where}"
        )

    if recommendation is None:
        recommendation = _recommend(results, answers, answered)
    return build_report_data(
        recommendation,
        results,
        _answers_dict(answers),
        prices,
        predictions=predictions,
        max_examples=max_examples,
        warnings=warnings,
        answered=answered,
    )


def _recommend(
    results: PilotResults | None, answers: Any, answered: Collection[str] | None
) -> dict[str, Any] | None:
    """The recommendation for a report, or None when nothing can decide yet."""
    evidence = None
    if results is not None:
        from advisor.decide.evidence import evidence_from

        evidence = evidence_from(results)
    if answers is not None or (evidence is not None and evidence.prompting_evaluated):
        # a real pilot that scored the prompting arms can decide without answers: the
        # questions it cannot measure keep their documented defaults
        from advisor.decide.questionnaire import Answers
        from advisor.decide.recommend import recommend

        return recommend(
            answers or Answers(),
            evidence,
            answered=answered if answers is not None else (),
        ).to_dict()
    return None
