"""Template data for the form sample of ``make_samples.py``: request templates, the
catalogue and the house style guide that becomes ``form/kb.jsonl``.

Why the style guide is generated from the same tables as the requests: a team's guide and
its tickets describe one catalogue and one set of rules, so they must not drift apart (a new
item in ``CATALOGUE`` gets both requests and a catalogue entry). Loaded by path from
``make_samples.py``; standard library only, no side effects.
"""

from __future__ import annotations


def _split(text: str, sep: str | None = None) -> list[str]:
    """Pools are kept as one string each so the tables fit on a screen."""
    return text.split(sep)


FORM_FIRST = _split(
    "Amelia Jonas Priya Mateo Zoë Kwame Hannah Søren Lucía Omar Chloé Daniel Aiko Björn Fatima "
    "Liam Anaïs Tomasz Grace Ravi Inès Noah Mei Elif Samuel José Nadia Oliver Łucja Ethan"
)
FORM_LAST = _split(
    "Okafor Lindqvist Moreau Nakamura Brennan Kowalski Haddad Ferreira Novak Osei Petrov Schmidt "
    "Gallagher Rossi Dubois Tanaka Mensah Johansson Costa Singh Murphy Yilmaz García Weber Kim"
)
# (item, catalogue section, other names requesters use ("; "), what one unit is, a note).
# The item is the canonical spelling the outputs use; every plural a request writes is that
# spelling plus "s", so the catalogue spelling stays in the input. No other name may contain
# another item's name, or a lookup by name would be ambiguous. The order is the order in
# which requests draw items: reordering it changes the generated requests.
CATALOGUE = [
    ("desk lamp", "lighting", "table lamp; reading light; task lamp",
     "Quantity counts lamps; each comes with its LED bulb.",
     "Warm white, with a weighted base and a flexible neck."),
    ("ergonomic chair", "furniture", "office chair; task chair; swivel chair",
     "Quantity counts chairs.",
     "Chairs arrive flat-packed and facilities assemble them; height, armrests and lumbar "
     "support adjust."),
    ("USB-C charger", "electronics", "laptop charger; power adapter; type-C charger",
     "Quantity counts chargers, each a 65 W plug with a two-metre cable.",
     'Keep the capitals and the hyphen: never "usb c charger" or "USBC charger".'),
    ("laptop stand", "accessories", "laptop riser; computer stand; laptop holder",
     "Quantity counts stands.",
     "Folding aluminium with six height settings; fits laptops up to 17 inches."),
    ("wireless keyboard", "electronics", "Bluetooth keyboard; cordless keyboard",
     "Quantity counts keyboards; batteries are included.",
     "UK layout with a numeric keypad; a mouse is a separate request."),
    ("monitor arm", "furniture", "screen arm; monitor mount; display bracket",
     "Quantity counts arms; each holds one screen, so two screens need two arms.",
     "Clamps to the desk edge without drilling."),
    ("HDMI cable", "cables", "HDMI lead; video cable; screen cable",
     "Quantity counts cables, each two metres long.",
     "Write HDMI in capitals; longer runs need a facilities ticket."),
    ("label printer", "electronics", "label maker; labeller; tape printer",
     "Quantity counts printers; label tape is ordered separately.",
     "Prints on 12 mm tape for shelves, cables and files."),
    ("paper shredder", "office equipment", "shredder; document shredder; cross-cut shredder",
     "Quantity counts shredders.",
     "Cross-cut, for up to ten sheets at a time; bags come with it."),
    ("whiteboard", "office equipment", "dry-erase board; white board; marker board",
     "Quantity counts boards; markers and erasers are not included.",
     'One word in the output: "whiteboard", never "white board". Magnetic, 120 by 90 cm.'),
    ("extension cord", "electrical", "extension lead; extension cable; extension reel",
     "Quantity counts cords, each five metres with one socket at the end.",
     "A lead with several sockets in a row is a power strip, a different item."),
    ("first-aid kit", "safety", "first aid kit; medical kit; first-aid box",
     "Quantity counts kits.",
     'Keep the hyphen in "first-aid". Each kit serves up to 25 people; refills go through the '
     "safety officer."),
    ("standing desk", "furniture", "sit-stand desk; height-adjustable desk; stand-up desk",
     "Quantity counts desks, frame and top together.",
     "Electric frame with a 160 by 80 cm top; facilities book the delivery and assembly."),
    ("webcam", "electronics", "web camera; video camera; USB camera",
     "Quantity counts cameras.",
     'One word in the output: "webcam". Full HD with a privacy shutter; clips onto a screen.'),
    ("headset", "electronics", "headphones; call headset; headphones with microphone",
     "Quantity counts headsets.",
     "USB, both ears, with a noise-cancelling microphone for calls."),
    ("toner cartridge", "printing", "toner; printer toner; laser toner",
     "Quantity counts cartridges, not boxes or colour sets.",
     "Black, for the shared laser printers; one cartridge prints about 3,000 pages."),
    ("filing cabinet", "furniture", "file cabinet; drawer cabinet; filing drawers",
     "Quantity counts cabinets.",
     "Steel, with three lockable drawers and two keys per cabinet."),
    ("desk fan", "appliances", "table fan; small fan; USB fan",
     "Quantity counts fans.",
     "Quiet, with 25 cm blades; stands on a desk or clips to a shelf."),
    ("coffee grinder", "kitchen", "coffee mill; bean grinder; burr grinder",
     "Quantity counts grinders.",
     "Electric, for the office kitchens; coffee beans are ordered through catering."),
    ("water filter", "kitchen", "jug filter; filter refill; water purifier",
     "Quantity counts single filters, not packs.",
     "Fits the kitchen filter jugs and tap units; replace every two months."),
    ("notebook", "stationery", "notepad; A5 notebook; paper notebook",
     "Quantity counts notebooks, not packs.",
     "A paper notebook, A5, ruled, 96 pages. Not a laptop computer: laptops are ordered "
     "through IT."),
    ("stapler", "stationery", "desk stapler; office stapler; heavy-duty stapler",
     "Quantity counts staplers; a box of staples comes with each.",
     "Staples up to 25 sheets."),
    ("projector", "electronics", "beamer; video projector; data projector",
     "Quantity counts projectors.",
     "Portable, with an HDMI input and a carry bag; ceiling mounting needs a facilities ticket."),
    ("barcode scanner", "electronics", "barcode reader; scan gun; handheld scanner",
     "Quantity counts scanners.",
     "Corded USB scanner for the warehouse and the post room."),
    ("safety helmet", "safety", "hard hat; hardhat; safety hat",
     "Quantity counts helmets.",
     "One size with an adjustable harness; required on the loading dock."),
    ("floor mat", "furniture", "chair mat; anti-fatigue mat; office floor mat",
     "Quantity counts mats.",
     "Clear mat, 120 by 90 cm, that protects the carpet under a chair."),
    ("document tray", "stationery", "letter tray; in-tray; paper tray",
     "Quantity counts trays; trays stack.",
     "Black plastic, A4."),
    ("power strip", "electrical", "multi-plug; power bar; gang socket; socket strip",
     "Quantity counts strips.",
     "Six sockets with a switch and surge protection; not an extension cord, which has one "
     "socket."),
]  # fmt: skip
ITEMS = [row[0] for row in CATALOGUE]
NUMBER_WORDS = _split("zero one two three four five six seven eight nine ten eleven twelve")
WEEKDAYS = _split("Monday Tuesday Wednesday Thursday Friday Saturday Sunday")  # not locale-bound
# Priority comes from cue phrases only: a high cue -> "high", a low cue -> "low", else "normal".
# Every sentence holds exactly one cue, and no phrase could be misread as a field (a low cue
# once said "this one", which reads like a quantity when one item is asked for).
PRIORITY_CUES = {
    "high": ["urgent", "ASAP", "as soon as possible", "immediately", "high priority",
             "top priority"],
    "low": ["no rush", "no hurry", "low priority", "can wait", "whenever"],
}  # fmt: skip
PRIORITY_SENTENCES = {
    "high": _split(
        "This is urgent.|URGENT!|Please send ASAP.|Marking this as high priority.|"
        "Top priority, the team is blocked.|We need this as soon as possible.|"
        "Please handle immediately.",
        sep="|",
    ),
    "low": _split(
        "No rush on this request.|No hurry at all.|Low priority.|It can wait if you're busy.|"
        "Whenever is convenient is fine.",
        sep="|",
    ),
    "normal": ["", "", "", "Normal priority.", "Standard priority."],
}
FORM_TEMPLATES = (
    "Hi, this is {name}. Could you please order {qi} for us? We need {them} by {date}. {prio}",
    "{prio} {name} here - need {qi} delivered on {date}.",
    "Order request from {name}: {qi}, due {date}. {prio}",
    "Please send {qi} to {name} no later than {date}. {prio}",
    "{ref} Requested by {name}. Item: {qi}. Needed by: {date}. {prio}",
    "Could we get {qi} for {date}? {prio} Thanks, {name}",
    "{date} is the deadline for {qi} - {name} asked for {them}. {prio}",
    "Hello! {name} would like {qi}. Delivery date {date}. {prio} {ref}",
    "re: supplies. {qi} for {name}, please deliver on {date}. {prio}",
    "{name} wrote: we are running low, could you restock {qi} by {date}? {prio}",
    "Ticket from {name}: needs {qi} for the new office, date {date}. {prio} {ref}",
    "Can you order {qi}? Needed {date}. {prio} - {name}",
    "{prio} Deliver {qi} on {date}, contact person {name}.",
    "Dear procurement, I would like to request {qi}, to arrive by {date}. {prio} Regards, {name}",
)  # fmt: skip
TYPOS = dict(  # applied to template words only, never to a field
    pair.split(">")
    for pair in _split(
        "please>pls Please>Pls Could>Cuold need>ned deliver>delivr delivered>deliverd Thanks>Thx "
        "request>reqest would>woud running>runing order>oder Regards>Regrads deadline>dedline "
        "office>ofice"
    )
)
FORM_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Supply request",
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "item", "quantity", "date", "priority"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "item": {"type": "string", "minLength": 1},
        "quantity": {"type": "integer", "minimum": 1, "maximum": 999},
        "date": {
            "type": "string",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
        },
        "priority": {"enum": ["low", "normal", "high"]},
    },
}

# --- the house style guide: form/kb.jsonl ---------------------------------------------------
CATALOGUE_DOC = (
    'Catalogue item: {item} ({section}). In the record, write the item field as "{item}": '
    "singular, with the catalogue spelling, capitals and hyphens, even when a request writes "
    '"{plural}" or "{variant}". Requesters also call it {other_names}; all of these mean '
    '"{item}". {unit} {note}'
)
# Worked examples for the guide: names outside the request pools, so no example row or its
# answer is copied into the knowledge base. (name, item, quantity, ISO date, priority, request)
WORKED_EXAMPLES = (
    ("Marta Ostrowska", "HDMI cable", 3, "2026-03-02", "high",
     "Hi, this is Marta Ostrowska. Pls order three HDMI Cables for the 2nd of March 2026. "
     "Top priority, the team is blocked. (ref #40417)"),
    ("Henrik Dahl", "safety helmet", 12, "2025-11-04", "low",
     "Ticket 88120. Henrik Dahl needs safety helmets x12 by Tuesday, November 4, 2025. "
     "No hurry at all."),
)  # fmt: skip
# Rule documents: id -> text; the placeholders are filled from the tables above.
GUIDE = {
    "style-overview": (
        "Supply request style guide: overview. The procurement desk turns every free-text "
        "supply request into one record with five fields: name (who asked), item (what, in "
        "catalogue spelling), quantity (how many), date (when it is needed) and priority (how "
        "urgent). The record is written as one line of JSON and nothing else. The catalogue "
        "holds {n_items} stock items in these sections: {sections}. Every item has its own "
        "catalogue entry listing the other names requesters use for it."
    ),
    "style-output-format": (
        "Output format rule. Write exactly one line of JSON and nothing else: no greeting, no "
        "explanation, no code fence, no line break. The keys always come in this order: name, "
        "item, quantity, date, priority. All five are required and no other key is allowed. "
        "Use double quotes, a space after every colon and comma, and no space inside the "
        'braces, as in {example}. The quantity is a bare whole number (3, not "3" or '
        '"three"); name, item, date and priority are strings.'
    ),
    "style-name": (
        "Name rule. The name field is the requester's name exactly as the request writes it, "
        "first name then family name. Keep accents and special letters ({accented}): write "
        "them as the letters themselves, never as an escape code such as \\u00f8, and never "
        "replace them with plain letters. Leave out greetings, titles and sign-offs (Hi, Dear, "
        'Thanks, Regards) and phrases such as "requested by" or "contact person". The name '
        "may open the request, sit in the middle or close it as a signature."
    ),
    "style-item": (
        "Item rule. The item field is the catalogue name of what is requested: singular and "
        "spelled exactly as in the catalogue, capitals and hyphens included (USB-C charger, "
        "HDMI cable, first-aid kit). Requests often write a plural, other capitals or a common "
        "name (hard hat, beamer, office chair); look up the catalogue entry and write its name "
        "instead. Never put the quantity, a colour or a reason into the item field."
    ),
    "style-quantity": (
        "Quantity rule. The quantity field is how many units of the item are requested, as a "
        "whole number from 1 to 999. Requests give it in digits (5 power strips), as a word "
        "({number_words}) or in order-form shorthand: staplers x5, 5 x stapler, staplers, "
        "quantity 5, qty 5 of the stapler. Each catalogue entry says what one unit is. Ticket "
        "numbers, reference numbers and the numbers of a date are never the quantity."
    ),
    "style-date-output": (
        "Date rule: output format. The date field is the day the items are needed by, "
        "written YYYY-MM-DD: four-digit year, two-digit month, two-digit day, joined by "
        "hyphens ({output_example}). Never output a weekday, a month name, slashes or a "
        "time. Month numbers: {month_table}."
    ),
    "style-date-reading": (
        "Date rule: reading a request. Requests write the same date in many ways; all of "
        "these mean {iso}: {forms}. Drop the weekday and the ordinal ending (st, nd, rd, th) "
        "and keep the year the request gives. Due, by, needed by, no later than, deadline, "
        "deliver on and delivery date all name the same delivery date. In this office a "
        "numeric date with slashes, such as {slashed}, is day/month/year, never month first."
    ),
    "style-priority-high": (
        'Priority rule: high. Set priority to "high" when the request holds any of these '
        "cues, in any capitals: {high_cues}. Typical sentences from requests: {high_examples} "
        "Capital letters or exclamation marks without a cue do not raise the level; only the "
        "cue words count."
    ),
    "style-priority-low": (
        'Priority rule: low. Set priority to "low" when the request holds any of these cues, '
        "in any capitals: {low_cues}. Typical sentences from requests: {low_examples} A "
        "polite tone or a late date alone does not make a request low priority; only the cue "
        "words count."
    ),
    "style-priority-normal": (
        'Priority rule: normal. Set priority to "normal" when the request holds no high cue '
        "({high_cues}) and no low cue ({low_cues}). Requests that say {normal_examples} are "
        "normal, and so are the many requests that say nothing about urgency. Only three "
        "values are allowed, in lower case: low, normal, high. Never write standard, medium, "
        "urgent or asap in the priority field."
    ),
    "style-noise": (
        "Noise rule: what to leave out. Ticket numbers and references (Ticket 14399, ref "
        "#52011) are never the quantity and never go into the record. Greetings, sign-offs, "
        "reasons and remarks (for the new office, we are running low) are left out too. "
        "Requests are typed in a hurry, so ordinary words are often misspelt: {typos}. A "
        "misspelling changes nothing: the fields themselves are written correctly."
    ),
    "style-worked-examples": "Worked examples. {examples}",
}
