"""Template data for ``make_samples.py``: the fictional world of the facts sample and the
README texts (the form sample's tables live in ``form_templates.py``).

Why a separate module: the generator's logic then reads top to bottom on a few screens,
and the data can grow (a new town, a new product) without touching that logic. Loaded by
path from ``make_samples.py``; standard library only, no side effects.
"""

from __future__ import annotations


def _split(text: str, sep: str | None = None) -> list[str]:
    """Name pools are kept as one string each so the tables fit on a screen."""
    return text.split(sep)


# --- the fictional world of the facts set ---------------------------------------------------
ARCHIPELAGO = "Serrowen"
ISLANDS = _split("Varrowen Ismere Quellholm Tharnby Oskarrow")
TOWNS = _split(
    "Halvikstrand, Pellowick, Saltmere Cove, Dunmorrow, Kestrelby, Orrin's Landing, Vashmoor, "
    "Ellingrave, Tollquay, Mirrowdeep, Caskwell, Fennick Bay, Yarrowgate, Skellhaven, Lowenmarch",
    sep=", ",
)
FESTIVALS = _split(
    "Herring Moon, Lantern Tide, Kelp Fair, Bell Regatta, Salt Wake, Gull Supper, Tallow Night, "
    "Ferry Games, Oyster Vigil, Stormglass Fair, Driftwood Parade, Loom Week, Cider Ebb, "
    "Beacon Run, Rope Dance",
    sep=", ",
)
MONTHS = _split(
    "January February March April May June July August September October November December"
)
FIRST_NAMES = _split(
    "Orla Tamsin Bram Ysolde Corvin Maelis Jory Ondine Per Saskia Emeric Liesl Tobin Wenna "
    "Anselm Hedda Ivo Rhosyn Casimir Nell Fenwick Isaura Dorran Elspeth Kit Morwen Aurel "
    "Bettany Lorcan Ilse Gideon Sabra Teodor Amarante Rufus Yelena Osric Petra Zeb Honora "
    "Lysander Greer Milo"
)
LAST_NAMES = _split(
    "Venn Quorle Ashgrove Marrable Tresk Darrowgate Pellam Strewe Harrowell Ostle Vantreight "
    "Kellaway Mossop Thornquist Brackley Ellery Fawcombe Gorran Hesketh Iddon Jessop Kittow "
    "Lanyon Merrifield Nancekivell Oakshott Penhallow Rosevear Sennen Trevaskis Uglow Varcoe "
    "Wherry Yeoward Zennor Boscawen Chynoweth Dunstan Eddowes Frayne Gilbart Hocking Jory-Blythe"
)
# company | what it does | its catalogue product
COMPANIES = [
    line.split(" | ")
    for line in """\
Quillmark Cordage | twists rope and netting for the fishing fleets | mooring line
Halden & Strew Lanterns | builds lamps for ships and lighthouses | storm lantern
Velmoor Ferryworks | builds and repairs small passenger boats | ferry tender
Tidewright Instruments | makes instruments for navigators | brass compass
Ossary Kilnworks | fires stoneware and roof tiles | stoneware teapot
Brindlecap Textiles | weaves cloth from island wool | wool blanket
Larkspire Cannery | smokes and tins the catch of the fleets | sprat tin
Mossgrave Optics | grinds lenses for spectacles and telescopes | field telescope
Pennyroyal Clockmakers | builds clocks for homes and town halls | wall clock
Saltbright Glassworks | blows glass for homes and fishing boats | glass float
Korvan Sailcloth | cuts and stitches sails | dinghy sail
Ember & Wick Candlery | pours candles from beeswax and tallow | candle set
Gullwing Aeroworks | builds light gliders for island hops | training glider
Thistledown Paperworks | presses paper from rag and kelp fibre | sketchbook
Corriveau Bellfoundry | casts bells for chapels and ships | ship's bell
Wrenfield Apiaries | keeps bees on the heather moors | honey jar
Ironmere Pumps | makes hand pumps for wells and boats | bilge pump
Driftmoor Ceramics | throws dinnerware for island kitchens | plate set
Starlow Radio Company | assembles radios for homes and boats | shortwave radio
Marlinspike Boatyard | builds wooden rowing boats | rowing skiff""".splitlines()
]
PRODUCT_MODELS = _split(
    "Corvalis Tessarine Mirabound Quenlow Brisolet Ostravel Halcyne Pelliwick Drosmere Fennet "
    "Lunavar Skerrin Torvane Ambrel Wyncliff Sorrelle Kestane Grimsel Zephrine Valdric"
)
COLOURS = _split(
    "slate blue, ochre, sea green, brick red, pale grey, deep teal, mustard yellow, charcoal, "
    "ivory, plum, rust orange, moss green",
    sep=", ",
)
NOTABLES = [  # (profession, best-remembered work)
    ("cartographer", "Atlas of Ninefold Tides"), ("composer", "Gannet Sonatas"),
    ("botanist", "Flora of the Shallows"), ("shipwright", "schooner Marrowlight"),
    ("poet", "Salt Psalms"), ("painter", "Copper Fleet"),
    ("engineer", "Skerrow Causeway Bridge"), ("astronomer", "Catalogue of Sea Stars"),
]  # fmt: skip

# One entry per fact sentence, variants separated by "|"; placeholders name the entity's
# values. The questions paraphrase the sentences but keep the entity's name, so term-based
# retrieval (BM25) can find the one document that answers them.
SENTENCES = {
    "town": (
        "{town} is a harbour town on {island}, one of the islands of the {arch} archipelago.|"
        "On the island of {island}, in the {arch} archipelago, lies the harbour town of {town}.",
        "{town} was founded in {year} by herring fishermen from the mainland.|"
        "Settlers from the mainland founded the town in {year}.",
        "{town} has a population of {population}.|About {population} people live in {town} today.",
        "The current mayor is {mayor}.|{mayor} serves as mayor of {town}.",
        "Every {month} {town} celebrates the {festival}, its best-loved festival.|"
        "The {festival} festival of {town} takes place each year in {month}.",
    ),
    "company": (
        "{company} {trade}.|From its workshops on the waterfront, {company} {trade}.",
        "{company} was founded in {year} by {founder}.|"
        "{founder} started {company} in {year} with a single rented workshop.",
        "The headquarters of {company} stand in {hq}, close to the harbour.|"
        "{company} is headquartered in {hq}.",
        "Today the firm employs {staff} people.|"
        "The payroll of {company} now counts {staff} employees across the isles.",
    ),
    "product": (
        "The {product} is made by {company}, one of the oldest firms of the {arch} isles.|"
        "{company} makes the {product} in its own workshops.",
        "Its catalogue code is {code}.|Shops list the {model} under the catalogue code {code}.",
        "It was first sold in {year}, after two years of trials.|"
        "The {model} went on sale in {year} and has changed little since.",
        "In island shops it sells for {price}.|A new {model} costs {price} in island shops.",
        "The standard {model} comes in {colour}, though other colours can be ordered.|"
        "Most buyers choose the standard {colour} finish.",
    ),
    "person": (
        "{person} was born in {town} in {year}.|"
        "Born in {year} in the town of {town}, {person} grew up near the docks.",
        "{last} worked as a {profession} for most of a long life.|"
        "{person} became the best-known {profession} of the {arch} isles.",
        "{person} is best remembered for the {work}.|"
        "The most celebrated work of {last} is the {work}.",
    ),
}
QUESTIONS = {  # kind -> {answer placeholder: question variants}
    "town": {
        "island": "On which island does {town} lie?|Which island of the {arch} archipelago is "
        "home to {town}?|{town} is located on what island?",
        "year": "In what year was {town} founded?|When was the town of {town} founded?|"
        "{town} was founded in which year?",
        "population": "How many people live in {town}?|What is the population of {town}?|"
        "How many inhabitants does {town} have?",
        "mayor": "Who is the current mayor of {town}?|Who holds the office of mayor in {town}?|"
        "Name the mayor of {town}.",
        "month": "In which month does {town} hold the {festival} festival?|When in the year is "
        "the {festival} of {town} celebrated?|What month is the {festival} festival in {town}?",
    },
    "company": {
        "founder": "Who founded {company}?|Who was the founder of {company}?|"
        "{company} was started by whom?",
        "year": "In which year was {company} founded?|When was {company} established?|"
        "What year did {company} begin trading?",
        "hq": "Where is {company} headquartered?|In which town does {company} have its head "
        "office?|What town is home to the headquarters of {company}?",
        "staff": "How many people does {company} employ?|How many employees work for {company}?|"
        "What is the headcount at {company}?",
    },
    "product": {
        "company": "Which company makes the {product}?|Who manufactures the {product}?|"
        "The {product} is produced by which firm?",
        "code": "What is the catalogue code of the {product}?|Under which product code is the "
        "{product} listed?|Which code identifies the {product} in shops?",
        "year": "In what year did the {product} go on sale?|When was the {product} first sold?|"
        "What year was the {product} launched?",
        "price": "How much does the {product} cost?|What is the price of the {product}?|"
        "What does a new {product} sell for?",
        "colour": "What colour is the standard {product}?|In which colour does the standard "
        "{product} come?|What is the standard finish colour of the {product}?",
    },
    "person": {
        "year": "In what year was {person} born?|When was {person} born?|"
        "What is the birth year of {person}?",
        "town": "In which town was {person} born?|Where was {person} born?|"
        "Which town is the birthplace of {person}?",
        "profession": "What was the profession of {person}?|What did {person} do for a living?|"
        "What kind of work did {person} do?",
        "work": "What is {person} best remembered for?|Which work is {person} most celebrated "
        "for?|Name the best-known work of {person}.",
    },
}
# Filler sentences: flavour without facts, so every question keeps exactly one answer.
FILLERS = {  # variants separated by "|"
    "town": (
        "Narrow lanes climb from the harbour to a chapel on the hill.|"
        "Most visitors arrive on the morning ferry and leave with the evening tide.|"
        "Its slate roofs can be seen from far out at sea.|"
        "Fog often lingers in the harbour until noon.|"
        "The market square fills with stalls of fish, wool and pottery on weekdays.|"
        "A stone breakwater shelters the small fleet from winter storms."
    ),
    "company": (
        "Apprentices train for three years before working alone.|"
        "Orders from the mainland grew steadily after the new ferry route opened.|"
        "The firm is still owned by the families of its first workers.|"
        "A small shop by the quay sells seconds at a discount.|"
        "Much of the work is still done by hand.|"
        "Visitors may tour the workshops on the first Saturday of each month."
    ),
    "product": (
        "Spare parts are stocked by most chandlers on the isles.|"
        "Reviewers in the island press praised its sturdy build.|"
        "It is often given as a wedding present on the islands.|"
        "Owners say it lasts for decades with a little care.|"
        "A guarantee card comes in every box."
    ),
    "person": (
        "Letters and notebooks from that life are kept in the island archive.|"
        "A small plaque marks the house where the family lived.|"
        "Schoolchildren on the isles still learn the story of that career.|"
        "Late in life came a return home, to a cottage by the sea.|"
        "Friends remembered a quiet manner and a sharp sense of humour.|"
        "Several streets in the isles now carry the family name."
    ),
}


# --- README texts----------------------------------------------------------------------------
README = """\
# Sample datasets

Generated by `python experiments/make_samples.py` (seeded, standard library only). Do not
edit by hand: `tests/test_samples.py` regenerates them and compares byte for byte. The facts
world is fictional (an invented archipelago) so no pretrained model can know the answers.
Every set has a knowledge base, so a pilot can run all seven arms on each of them.

| set | size | what it shows |
|---|---|---|
| `facts/` | {docs} documents, {facts} questions | facts the model lacks: RAG should win |
| `form/` | {form_docs} documents, {form} requests | a strict JSON format: finetuning should win |
| `tiny/` | {tiny_docs} documents, {tiny} questions | a facts subset for tests and the smoke demo |

Columns:
- `kb.jsonl`: `id`, `text` (one paragraph: 60-150 words in facts and tiny, 40-150 in form).
  `tiny/kb_txt/` holds the same documents as `<id>.txt` files (UTF-8, no trailing newline,
  so each file's text equals its `kb.jsonl` text exactly), to exercise the folder loader.
- facts and tiny `examples.jsonl`: `id`, `input` (a question), `output` (a 1-4 word answer),
  `doc_id` (the one document that states the answer; enables retrieval recall@k). The tiny
  set is a subset of the facts world: same documents, same questions.
- form `examples.jsonl`: `id`, `input` (a free-text supply request), `output` (one-line JSON,
  keys in the order of `schema.json`, valid against it); no `doc_id`. Its `kb.jsonl` is the
  team's house style guide and catalogue. See `form/README.md`.

Try one: `advisor pilot --data experiments/samples/facts/examples.jsonl
--kb experiments/samples/facts/kb.jsonl --out runs/facts`, or `advisor demo --sample form`.
"""
FACTS_README = """\
# Facts-heavy sample

{facts} questions about {docs} documents describing the fictional {arch} archipelago (towns,
companies, products, people). Each question has a short answer (a name, year, number, place,
code or colour) that one document states, named by `doc_id`: only the knowledge base
(`kb.jsonl`, columns `id` and `text`) holds it, so retrieval should beat the bare model.
"""
FORM_README = """\
# Form-heavy sample

{form} free-text supply requests (varied order, date styles, number words, occasional typos,
distracting reference numbers) to rewrite as one-line JSON valid against `schema.json`:
`{{"name": str, "item": str, "quantity": int, "date": "YYYY-MM-DD", "priority": str}}`,
keys in that order. Every field is in the input, so the task is about form, not knowledge:
- `item` is the catalogue spelling (the request may use other casing or a plural).
- `quantity` is given in digits or as a word (one to twelve).
- `priority` is `high` when the request says urgent, ASAP, as soon as possible,
  immediately, high priority or top priority; `low` when it says no rush, no hurry,
  low priority, can wait or whenever; `normal` otherwise.

`kb.jsonl` (`id`, `text`; {form_docs} documents of 40-150 words) is the house style guide
and catalogue such a team keeps: one `catalogue-<item>` document per catalogue item (its
canonical singular name, the plural and other names requesters write, what one unit is)
and {form_rules} `style-*` documents (an overview, output format and key order, name, item,
quantity, date output and date reading, the three priority levels, noise such as ticket
numbers and typos, worked examples). It lets the RAG arms run here too: retrieval can bring
the item's catalogue entry and the rules into the prompt, but the rules are few and the
same for every request, so a model that learns the format (finetuning) should still win.

Why no `doc_id` column: `doc_id` names the one document that holds an example's answer.
Here no document holds it (the record is assembled from the request by several rules), so
retrieval recall@k would measure nothing useful; the pilot skips retrieval metrics.
"""
