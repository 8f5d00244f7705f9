"""The Python files a promptfoo export writes beside its config: the provider and metrics.

Why apart from the config builder: these are programs for promptfoo to run (they import
advisor, so promptfoo must use the Python that has it: PROMPTFOO_PYTHON), kept as text.
"""

PROVIDER_PY = '''"""promptfoo provider: the pilot's local model (+ LoRA adapter), as in the pilot.

Written by `advisor export --format promptfoo`. It needs advisor installed in the Python
promptfoo runs: point PROMPTFOO_PYTHON at that interpreter (e.g. .venv/bin/python).
"""

import json

_LOADED = {}


def _generator(config):
    key = (config["model"], config.get("adapter"))
    if key not in _LOADED:
        from advisor.models import HFGenerator, load_generator

        gen = load_generator(config["model"])
        if config.get("adapter"):
            from advisor.finetune.lora import load_adapter

            tuned = load_adapter(gen.model, config["adapter"])
            gen = HFGenerator(tuned, gen.tokenizer, gen.name, context_length=gen.context_length)
        _LOADED[key] = gen
    return _LOADED[key]


def call_api(prompt, options, context):
    from advisor.pilot.prompts import clean_answer

    config = (options or {}).get("config") or {}
    try:
        messages = json.loads(prompt)
    except ValueError:
        messages = [{"role": "user", "content": prompt}]
    system = "\\n".join(m["content"] for m in messages if m.get("role") == "system")
    user = "\\n".join(m["content"] for m in messages if m.get("role") == "user")
    gen = _generator(config)
    [result] = gen.generate(
        [gen.format_prompt(system, user)],
        max_new_tokens=int(config.get("max_new_tokens", 64)),
        batch_size=1,
    )
    usage = {"prompt": result.prompt_tokens, "completion": result.output_tokens}
    usage["total"] = usage["prompt"] + usage["completion"]
    return {"output": clean_answer(result.text), "tokenUsage": usage}
'''

METRIC_PY = '''"""promptfoo assertions that score like the pilot: advisor's own metric functions.

Written by `advisor export --format promptfoo`. It needs advisor installed in the Python
promptfoo runs: point PROMPTFOO_PYTHON at that interpreter (e.g. .venv/bin/python).
Each function returns the metric's score in [0, 1]; the config's threshold decides a pass.
"""


def _score(name, output, context):
    from advisor.evaluation.metrics import METRICS

    return float(METRICS[name].fn(str(output), str(context["vars"]["expected"])))


def exact_match(output, context):
    return _score("exact_match", output, context)


def token_f1(output, context):
    return _score("token_f1", output, context)


def answer_containment(output, context):
    return _score("answer_containment", output, context)


def rouge_l(output, context):
    return _score("rouge_l", output, context)


def field_accuracy(output, context):
    return _score("field_accuracy", output, context)
'''
