"""Generate the bundled sample datasets: facts-heavy, form-heavy and a tiny one for tests.

Why generated from templates and not hand-written:
- The facts world is fictional, so no pretrained model can know the answers: on `facts/`
  only retrieval from the knowledge base can win, which is what the sample demonstrates.
- On `form/` every output field is derivable from its input, so the task is about the strict
  output format alone: the kind of failure finetuning fixes. Its knowledge base is the house
  style guide and catalogue such a team keeps, so the RAG arms can run on it too.
- A seeded generator keeps the committed files reproducible: tests regenerate them and
  compare byte for byte, so the samples cannot drift from this script.

The tables and texts live in the sibling modules ``sample_templates.py`` (facts world,
READMEs) and ``form_templates.py`` (requests, catalogue, style guide), loaded by path so the
script runs from anywhere without ``experiments`` being a package.

    python experiments/make_samples.py [--out DIR] [--seed N]

Standard library only; runs in well under a second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import random
import re
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent
SAMPLES_DIR = HERE / "samples"
N_FORM = 240  # form examples: enough for a LoRA pilot's train, validation and test splits
N_TINY_EXAMPLES = 40  # small enough for a smoke pilot to finish in seconds


def _load_sibling(name: str) -> ModuleType:
    """Import ``experiments/<name>.py`` by path: tests load this script the same way."""
    spec = importlib.util.spec_from_file_location(f"_samples_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None, name
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = _load_sibling("sample_templates")  # the facts world and the README texts
F = _load_sibling("form_templates")  # the form requests, catalogue and style guide


# --- the facts set: questions about a fictional archipelago ---------------------------------
def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower().replace("'", "")).strip("-")


def _document(
    rng: random.Random, kind: str, doc_id: str, values: dict[str, str]
) -> tuple[dict, list[dict]]:
    """One paragraph (fact sentences, then fillers) and one question per fact."""
    values = {"arch": S.ARCHIPELAGO, **values}
    sentences = [rng.choice(s.split("|")).format(**values) for s in S.SENTENCES[kind]]
    n_fillers = 8 - len(sentences)  # short fact lists get more flavour, to 60+ words
    text = " ".join(sentences + rng.sample(S.FILLERS[kind].split("|"), n_fillers))
    n_words = len(text.split())
    assert 60 <= n_words <= 150, f"{doc_id} has {n_words} words (want 60-150)"
    examples = []
    for key, questions in S.QUESTIONS[kind].items():
        question = rng.choice(questions.split("|")).format(**values)
        examples.append({"input": question, "output": values[key], "doc_id": doc_id})
    return {"id": doc_id, "text": text}, examples


def build_world(seed: int = 0) -> tuple[list[dict], list[dict], list[str]]:
    """Return (documents, facts examples without ids, ids of the tiny subset's documents)."""
    rng = random.Random(seed)
    lasts = rng.sample(S.LAST_NAMES, len(S.LAST_NAMES))
    people = [f"{f} {s}" for f, s in zip(rng.sample(S.FIRST_NAMES, len(lasts)), lasts, strict=True)]
    mayors, founders, notables = people[:15], people[15:35], people[35:]
    towns, festivals = rng.sample(S.TOWNS, len(S.TOWNS)), rng.sample(S.FESTIVALS, len(S.FESTIVALS))
    companies = rng.sample(S.COMPANIES, len(S.COMPANIES))
    models = rng.sample(S.PRODUCT_MODELS, len(companies))

    built: list[tuple[dict, list[dict]]] = []
    for i, town in enumerate(towns):
        values = {"town": town, "island": S.ISLANDS[i % len(S.ISLANDS)], "mayor": mayors[i],
                  "festival": festivals[i], "year": str(rng.randint(1620, 1890)),
                  "population": f"{rng.randrange(900, 48000, 10):,}",
                  "month": rng.choice(S.MONTHS)}  # fmt: skip
        built.append(_document(rng, "town", f"town-{_slug(town)}", values))
    founded = {company: rng.randint(1760, 1960) for company, _, _ in companies}
    # Spread headquarters and birthplaces over the towns: a town named in many documents
    # would make its own document hard to tell apart from the others that mention it.
    places = rng.sample(towns, len(towns)) * 2
    for (company, trade, _), founder, hq in zip(companies, founders, places, strict=False):
        values = {"company": company, "trade": trade, "founder": founder, "hq": hq,
                  "year": str(founded[company]), "staff": str(rng.randrange(12, 2400))}  # fmt: skip
        built.append(_document(rng, "company", f"company-{_slug(company)}", values))
    codes: set[str] = set()
    for (company, _, kind), model in zip(companies, models, strict=True):
        prefix = "".join(w[0] for w in company.split() if w[0].isalpha())[:2]
        while (code := f"{prefix}-{rng.randrange(100, 1000)}") in codes:
            pass
        codes.add(code)
        values = {"product": f"{model} {kind}", "model": model, "company": company, "code": code,
                  "year": str(rng.randint(founded[company] + 5, 2023)),
                  "price": f"{rng.randrange(12, 480)} marks",
                  "colour": rng.choice(S.COLOURS)}  # fmt: skip
        built.append(_document(rng, "product", f"product-{_slug(model)}", values))
    births = places[len(companies) : len(companies) + len(notables)]
    for person, (profession, work), town in zip(
        notables, rng.sample(S.NOTABLES, 8), births, strict=True
    ):
        values = {"person": person, "last": person.split()[-1], "town": town,
                  "year": str(rng.randint(1840, 1960)), "profession": profession,
                  "work": work}  # fmt: skip
        built.append(_document(rng, "person", f"person-{_slug(person)}", values))

    documents = [doc for doc, _ in built]
    examples = [row for _, rows in built for row in rows]
    rng.shuffle(examples)
    # Tiny subset: 3 towns, 4 companies, the products of 3 of them, 2 people = 12 documents.
    ids = [d["id"] for d in documents]
    tiny = [i for i in ids if i.startswith("town-")][:3]
    tiny += [i for i in ids if i.startswith("company-")][:4]
    tiny += [i for i in ids if i.startswith("product-")][:3]
    tiny += [i for i in ids if i.startswith("person-")][:2]
    return documents, examples, tiny


# --- the form set: free-text supply requests -> strict one-line JSON ------------------------
def _date_forms(day: dt.date) -> list[str]:
    """Every way a request writes a date; the style guide lists the same forms."""
    month = S.MONTHS[day.month - 1]
    suffix = "th" if 11 <= day.day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day.day % 10, "th")
    return [
        day.isoformat(), f"{month} {day.day}, {day.year}", f"{day.day} {month} {day.year}",
        f"{month[:3]} {day.day}, {day.year}", f"the {day.day}{suffix} of {month} {day.year}",
        f"{F.WEEKDAYS[day.weekday()]}, {month} {day.day}, {day.year}",
    ]  # fmt: skip


def _date_text(rng: random.Random, day: dt.date) -> str:
    return rng.choice(_date_forms(day))


def _quantity_text(rng: random.Random, quantity: int, item: str) -> str:
    shown = rng.choice([item, item, item, item.lower(), item.title()])
    plural = shown if quantity == 1 else shown + "s"
    if quantity <= 12 and rng.random() < 0.3:
        return f"{F.NUMBER_WORDS[quantity]} {plural}"
    forms = [f"{quantity} {plural}", f"{plural} x{quantity}", f"{quantity} x {shown}",
             f"{plural}, quantity {quantity}", f"qty {quantity} of the {shown}"]  # fmt: skip
    return rng.choice(forms)


def _form_row(rng: random.Random) -> tuple[str, dict]:
    name, item = f"{rng.choice(F.FORM_FIRST)} {rng.choice(F.FORM_LAST)}", rng.choice(F.ITEMS)
    if rng.random() < 0.6:
        quantity = rng.choice([1, 1, 2, 2, 3, 4, 5, 6, 8, 10, 12])
    else:
        quantity = rng.randint(1, 60)
    day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randrange(730))
    priority = rng.choice(["high", "normal", "normal", "low"])
    template = rng.choice(F.FORM_TEMPLATES)
    if rng.random() < 0.3:
        words = [w for w in F.TYPOS if re.search(rf"\b{w}\b", template)]
        for word in rng.sample(words, min(2, len(words))):
            template = re.sub(rf"\b{word}\b", F.TYPOS[word], template, count=1)
    ref = ""
    if rng.random() < 0.35:  # a distracting number that is not the quantity
        number = rng.randrange(1000, 99999)
        ref = rng.choice([f"(ref #{number})", f"Ticket {number}."])
    text = template.format(
        name=name, qi=_quantity_text(rng, quantity, item), them="it" if quantity == 1 else "them",
        date=_date_text(rng, day), prio=rng.choice(F.PRIORITY_SENTENCES[priority]), ref=ref,
    )  # fmt: skip
    output = {"name": name, "item": item, "quantity": quantity, "date": day.isoformat(),
              "priority": priority}  # fmt: skip
    text = re.sub(r"\s+", " ", text).strip()
    return text[0].upper() + text[1:], output


def build_form(seed: int = 0, n: int = N_FORM) -> list[dict]:
    """``n`` requests with unique inputs; outputs keep the schema's key order."""
    rng = random.Random(seed + 1)
    rows: list[dict] = []
    seen: set[str] = set()
    while len(rows) < n:
        text, output = _form_row(rng)
        if text not in seen:
            seen.add(text)
            output_text = json.dumps(output, ensure_ascii=False)
            rows.append({"id": f"form-{len(rows) + 1:03d}", "input": text, "output": output_text})
    return rows


# --- the form knowledge base: the team's house style guide and catalogue --------------------
def _quoted(phrases: list[str], last: str = "or") -> str:
    """'"a", "b" or "c"': how the style guide lists names and cue words."""
    quoted = [f'"{p}"' for p in phrases]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} {last} {quoted[-1]}"


def _record(name: str, item: str, quantity: int, date: str, priority: str) -> str:
    """One output line exactly as the examples write it (schema key order, UTF-8 as text)."""
    value = {"name": name, "item": item, "quantity": quantity, "date": date, "priority": priority}
    return json.dumps(value, ensure_ascii=False)


def _checked(doc_id: str, text: str) -> dict:
    """A guide document, refused if it would not fit one retrieval chunk as one paragraph."""
    n_words = len(text.split())
    assert 40 <= n_words <= 150 and "\n" not in text, f"{doc_id}: {n_words} words (want 40-150)"
    return {"id": doc_id, "text": text}


def build_form_kb() -> list[dict]:
    """The house style guide: one document per rule, then one per catalogue item.

    Seed-independent on purpose: a team's style guide does not change with the sample's seed.
    Every list in it (cue words, date forms, typos, names) comes from the tables the requests
    are generated from, so the guide describes exactly the requests in the sample.
    """
    day = dt.date(2025, 9, 19)  # a day past the 12th, so day/month order cannot be mistaken
    months = [f"{m} or {m[:3]} = {i:02d}" if len(m) > 3 else f"{m} = {i:02d}"
              for i, m in enumerate(S.MONTHS, 1)]  # fmt: skip
    accented = sorted({n for n in F.FORM_FIRST + F.FORM_LAST if not n.isascii()})
    typos = dict.fromkeys(f"{t.lower()} for {w.lower()}" for w, t in F.TYPOS.items())
    sentences = {
        level: [s for s in options if s] for level, options in F.PRIORITY_SENTENCES.items()
    }
    worked = [
        f'Request: "{text}" Record: {_record(*fields)}' for *fields, text in F.WORKED_EXAMPLES
    ]
    values = {
        "n_items": len(F.CATALOGUE),
        "sections": ", ".join(dict.fromkeys(row[1] for row in F.CATALOGUE)),
        "example": _record(*F.WORKED_EXAMPLES[0][:5]),
        "accented": ", ".join(accented),
        "number_words": ", ".join(f"{w} = {i}" for i, w in enumerate(F.NUMBER_WORDS) if i),
        "output_example": "7 March 2026 becomes 2026-03-07",
        "month_table": ", ".join(months),
        "iso": day.isoformat(),
        "forms": "; ".join(_date_forms(day)),
        "slashed": day.strftime("%d/%m/%Y"),
        "high_cues": _quoted(F.PRIORITY_CUES["high"]),
        "low_cues": _quoted(F.PRIORITY_CUES["low"]),
        "high_examples": _quoted(sentences["high"], "and"),
        "low_examples": _quoted(sentences["low"], "and"),
        "normal_examples": _quoted(sentences["normal"]),
        "typos": ", ".join(typos),
        "examples": " ".join(worked),
    }
    documents = [_checked(doc_id, text.format(**values)) for doc_id, text in F.GUIDE.items()]
    for item, section, other_names, unit, note in F.CATALOGUE:
        variant = item.lower() if item != item.lower() else item.title()
        text = F.CATALOGUE_DOC.format(
            item=item, section=section, plural=item + "s", variant=variant, unit=unit,
            other_names=_quoted(other_names.split("; ")), note=note,
        )  # fmt: skip
        documents.append(_checked(f"catalogue-{_slug(item)}", text))
    return documents


# --- writing --------------------------------------------------------------------------------
def _write(path: Path, text: str, written: list[Path]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    written.append(path)


def _jsonl(rows: list[dict]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def generate(out_dir: Path, seed: int = 0) -> list[Path]:
    """Write every sample set under ``out_dir``; return the files written.

    Same seed, same bytes: the committed samples are checked against this function.
    """
    out_dir = Path(out_dir)
    documents, examples, tiny_ids = build_world(seed)
    facts = [{"id": f"facts-{i:03d}", **row} for i, row in enumerate(examples, 1)]
    form, form_kb = build_form(seed), build_form_kb()
    tiny_docs = [d for d in documents if d["id"] in tiny_ids]
    tiny_rows = [row for row in examples if row["doc_id"] in tiny_ids][:N_TINY_EXAMPLES]
    tiny = [{"id": f"tiny-{i:03d}", **row} for i, row in enumerate(tiny_rows, 1)]

    written: list[Path] = []
    _write(out_dir / "facts" / "kb.jsonl", _jsonl(documents), written)
    _write(out_dir / "facts" / "examples.jsonl", _jsonl(facts), written)
    _write(out_dir / "form" / "kb.jsonl", _jsonl(form_kb), written)
    _write(out_dir / "form" / "examples.jsonl", _jsonl(form), written)
    _write(out_dir / "form" / "schema.json", json.dumps(F.FORM_SCHEMA, indent=2) + "\n", written)
    _write(out_dir / "tiny" / "kb.jsonl", _jsonl(tiny_docs), written)
    _write(out_dir / "tiny" / "examples.jsonl", _jsonl(tiny), written)
    txt_dir = out_dir / "tiny" / "kb_txt"
    for stale in txt_dir.glob("*.txt"):  # a dropped document must not linger in the folder
        stale.unlink()
    for doc in tiny_docs:
        # No trailing newline: the folder loader keeps a file's text as it is, so the file
        # must hold exactly the kb.jsonl text for both forms of the knowledge base to agree.
        _write(txt_dir / f"{doc['id']}.txt", doc["text"], written)
    counts = {"docs": len(documents), "facts": len(facts), "form": len(form),
              "form_docs": len(form_kb), "form_rules": len(F.GUIDE), "tiny_docs": len(tiny_docs),
              "tiny": len(tiny), "arch": S.ARCHIPELAGO}  # fmt: skip
    _write(out_dir / "README.md", S.README.format(**counts), written)
    _write(out_dir / "facts" / "README.md", S.FACTS_README.format(**counts), written)
    _write(out_dir / "form" / "README.md", S.FORM_README.format(**counts), written)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the bundled sample datasets.")
    parser.add_argument("--out", type=Path, default=SAMPLES_DIR, help="folder to write into")
    parser.add_argument("--seed", type=int, default=0, help="0 gives the committed samples")
    args = parser.parse_args(argv)
    written = generate(args.out, seed=args.seed)
    size = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} files ({size / 1000:.0f} KB) under {args.out}")


if __name__ == "__main__":
    main()
