"""SQuAD-like questions from a sentence: drop the answer span, keep a clause, paraphrase.

Why these operations: SQuAD crowdworkers read a paragraph and wrote a question about one
sentence. Rajpurkar et al. (2016) found most questions rephrase the sentence's syntax, about
a third swap a word for a synonym, and the answer span itself never appears in the question.
So a question here keeps the words around the answer (the clause the worker looked at), loses
the answer, swaps some content words for synonyms from the table below, drops some others,
changes some inflections, sometimes moves the clause's halves around, and starts with a
wh-word chosen from the kind of answer (a year, a number, a name, a thing). A pronoun that
opens the sentence is sometimes replaced by the article's topic, as workers did ("What do
the Normans ..." for "They ...").

Loaded by path from ``retrieval_proxy.py`` (``experiments`` is not a package). Standard
library only.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

# A small function-word list (the generator's own, deliberately not the retriever's list).
STOP = frozenset(
    """a an the and or but if then than so as of at by for from in into on onto to with without
within about above below over under between through during before after since until
while is are was were be been being am do does did done has have had having can could
may might must shall should will would not no nor only also just very too more most less
least much many some any each every all both either neither other another such same this
that these those it its they them their there here he she his her we our you your i me
my which who whom whose what when where why how one ones e g etc""".split()  # noqa: SIM905
)
PRONOUNS = frozenset("it they this these he she its their".split())  # noqa: SIM905

# Hand-written synonym table (word -> alternatives), general and technical English. A worker
# rarely uses a thesaurus, so the alternatives are everyday words, not rare ones.
_SYNONYMS = """
use:employ,utilize|used:employed,utilized|uses:employs|using:employing|create:make,build
created:made,built|creates:makes,builds|allow:let,permit|allows:lets,permits|allowed:permitted
begin:start|begins:starts|start:begin|starts:begins|started:began|end:finish|ends:finishes
show:display|shows:displays|shown:displayed|display:show|change:modify,alter|changes:modifies
changed:modified,altered|remove:delete|removed:deleted|removes:deletes|delete:remove
deleted:removed|return:give back|returns:gives back|returned:given back|need:require
needs:requires|needed:required|require:need|requires:needs|required:needed|provide:offer,give
provides:offers,gives|provided:supplied,given|contain:hold,include|contains:holds,includes
contained:held|include:contain|includes:contains|included:contained|find:locate
found:located|get:obtain|gets:obtains|obtain:get|make:create|makes:creates|made:created
call:invoke|calls:invokes|called:invoked,named|invoke:call|invoked:called|run:execute
runs:executes|execute:run|executed:run|write:store|written:stored|writes:stores|read:load
reads:loads|set:assign|sets:assigns|specify:give,state|specified:given,stated
specifies:gives|define:declare|defined:declared|defines:declares|describe:explain
describes:explains|described:explained|explain:describe|happen:occur|happens:occurs
occur:happen|occurs:happens|occurred:happened|fail:break|fails:breaks|failed:broke
ignore:skip|ignored:skipped|ignores:skips|keep:retain|keeps:retains|kept:retained
select:choose,pick|selected:chosen|choose:select|move:shift|moved:shifted|moves:shifts
open:launch|opened:launched|close:shut|closed:shut|send:transmit|sends:transmits
sent:transmitted|receive:get|receives:gets|received:got|wait:pause|waits:pauses|stop:halt
stops:halts|stopped:halted|check:verify|checks:verifies|checked:verified|support:handle
supports:handles|supported:handled|handle:deal with|handled:dealt with|handles:deals with
add:append,insert|added:appended,inserted|adds:appends|try:attempt|tries:attempts
attempt:try|attempts:tries|type:kind|types:kinds|kind:type|way:manner|ways:means
method:technique|methods:techniques|error:mistake|errors:mistakes|problem:issue
problems:issues|result:outcome|results:outcomes|value:setting|values:settings
number:count|numbers:counts|size:length|large:big|small:little|big:large|little:small
first:initial|last:final|new:fresh|old:previous|different:distinct|same:identical
similar:alike|important:key|main:primary|common:usual|usual:normal|normal:ordinary
simple:easy|easy:simple|difficult:hard|hard:difficult|fast:quick|quickly:rapidly
slow:sluggish|often:frequently|usually:normally|always:invariably|never:at no time
possible:feasible|able:capable|available:accessible|current:present|previous:prior
following:next|next:following|several:a few|whole:entire|entire:whole|complete:full
part:portion|parts:portions|piece:fragment|example:instance|examples:instances
name:label|names:labels|file:document|files:documents|user:person|users:people
program:application|programs:applications|process:task|processes:tasks|data:information
information:data|text:wording|word:term|words:terms|line:row|lines:rows|list:sequence
order:sequence|place:position|position:location|location:place|point:spot|area:region
field:attribute|object:item|objects:items|item:entry|items:entries|argument:parameter
arguments:parameters|option:setting|options:settings|command:instruction
commands:instructions|system:platform|operation:action|operations:actions|action:operation
behavior:conduct|behaviour:conduct|purpose:aim|reason:cause|effect:impact|case:situation
cases:situations|level:degree|limit:cap|limits:caps|rule:regulation|rules:regulations
state:condition|status:state|memory:storage|space:room|time:moment|times:occasions
default:standard|specific:particular|particular:specific|certain:some|general:overall
instead:rather|however:nevertheless|therefore:thus|because:since|also:additionally
mode:setting|character:symbol|characters:symbols|key:button|keys:buttons|window:pane
windows:panes|screen:display|cursor:caret|buffer:workspace|text:content|start:launch
signal:notification|signals:notifications|thread:strand|threads:strands|pipe:channel
socket:endpoint|address:location|network:net|kernel:core|module:package|modules:packages
function:routine|functions:routines|class:category|classes:categories|attribute:property
attributes:properties|expression:formula|expressions:formulas|statement:instruction
statements:instructions|variable:name|variables:names|loop:cycle|exception:error
exceptions:errors|raise:throw|raised:thrown|raises:throws|evaluate:compute
evaluated:computed|evaluates:computes|convert:transform|converted:transformed
converts:transforms|string:text|strings:texts|integer:whole number|integers:whole numbers
sequence:series|collection:group|member:element|members:elements|element:member
elements:members|match:correspond|matches:corresponds|matched:corresponded|search:look
searches:looks|replace:substitute|replaced:substituted|edit:modify|editing:modifying
edited:modified|save:store|saved:stored|load:read|loaded:read|belongs:pertains
refer:point|refers:points|referred:pointed|indicate:signal|indicates:signals
indicated:signalled|mean:signify|means:signifies|meant:signified|consider:regard
considered:regarded|treat:handle|treated:handled|treats:handles|affect:influence
affects:influences|affected:influenced|prevent:stop|prevents:stops|prevented:stopped
ensure:guarantee|ensures:guarantees|enable:activate|enabled:activated|enables:activates
disable:deactivate|disabled:deactivated|apply:use|applies:uses|applied:used
"""
SYNONYMS: dict[str, list[str]] = {}
for _entry in re.split(r"[|\n]", _SYNONYMS):
    if ":" in _entry:
        _word, _alts = _entry.strip().split(":", 1)
        SYNONYMS.setdefault(_word, [a.strip() for a in _alts.split(",") if a.strip()])


@dataclass(frozen=True)
class Difficulty:
    """How far a question strays from its sentence (probabilities are per word)."""

    name: str
    synonym: float  # a content word with a table entry is swapped for a synonym
    drop: float  # a content word is left out
    drop_function: float  # a function word is left out
    inflect: float  # a kept content word changes inflection (stemming undoes most)
    reorder: float  # the clause's halves swap places
    topic: float  # a sentence-opening pronoun becomes the article's topic
    side: tuple[int, int]  # up to 2 x randint(*side) words kept each side of the answer

    def __post_init__(self) -> None:
        for field in ("synonym", "drop", "drop_function", "inflect", "reorder", "topic"):
            value = getattr(self, field)
            if not 0 <= value <= 1:
                raise ValueError(f"{field} must be a probability in [0, 1] (not {value!r})")
        if not 0 < self.side[0] <= self.side[1]:
            raise ValueError(f"side must be (min, max) with 0 < min <= max (not {self.side!r})")


LEVELS = {
    # the clause as written, answer replaced by a wh-word: the upper bound of overlap
    "plain": Difficulty("plain", 0.0, 0.0, 0.0, 0.0, 0.0, 0.6, (4, 8)),
    # SQuAD-like: most content words kept, a quarter of those with a synonym swapped
    "squad": Difficulty("squad", 0.25, 0.2, 0.15, 0.15, 0.3, 0.6, (4, 8)),
    # harder than SQuAD: more synonyms and drops, a shorter clause
    "hard": Difficulty("hard", 0.5, 0.35, 0.3, 0.25, 0.4, 0.8, (3, 6)),
}

_EDGE = re.compile(r"^[^\w]+|[^\w]+$")
_YEAR = re.compile(r"^(1[0-9]|20)\d\d$")


def _core(token: str) -> str:
    return _EDGE.sub("", token)


def is_content(word: str) -> bool:
    return len(word) >= 3 and word.lower() not in STOP and any(c.isalnum() for c in word)


_DETERMINERS = frozenset("the a an its their his her this that these those each every".split())  # noqa: SIM905


def _answer_span(cores: list[str], rng: random.Random) -> tuple[int, int] | None:
    """A noun-phrase-like run of 1-3 content words; numbers and names favoured, as in SQuAD.

    Without a tagger, a noun phrase is guessed: a number, a capitalised word inside the
    sentence, or the content words right after a determiner ("the *finally clause*").
    """
    spans, weights = [], []
    for i in range(len(cores)):
        first = cores[i]
        numeric = any(c.isdigit() for c in first)
        named = i > 0 and first[:1].isupper()
        after_det = i > 0 and cores[i - 1].lower() in _DETERMINERS
        if not is_content(first) or not (numeric or named or after_det):
            continue
        j = i + 1
        while j < min(i + 3, len(cores)) and is_content(cores[j]):
            j += 1
        if sum(is_content(w) for w in cores[:i] + cores[j:]) < 4:
            continue
        spans.append((i, j))
        weights.append(3.0 if numeric else 2.0 if named else 1.0)
    return rng.choices(spans, weights)[0] if spans else None


def _wh(span: list[str], rng: random.Random) -> str:
    if any(_YEAR.match(w) for w in span):
        return rng.choice(["When", "In what year"])
    if any(any(c.isdigit() for c in w) for w in span):
        return rng.choice(["How many", "What number", "How much"])
    if any(w[:1].isupper() for w in span):
        return rng.choice(["Who", "What", "Which"])
    return rng.choice(["What", "What", "Which", "What kind of"])


def _inflect(word: str) -> str:
    """Another form of the same word: plural to singular, past to present."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("ed") and len(word) > 4:
        return word[:-1] + "s" if word[-3] == "e" else word[:-2] + "s"
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 4:
        return word[:-1]
    return word


_CLAUSE_END = re.compile(r"[,;:]$")
_PAREN = re.compile(r"\([^()]*\)")


def _clause(tokens: list[str], i: int, j: int) -> tuple[int, int]:
    """Token range of the clause around tokens[i:j]: cut at , ; : (a worker asks about one)."""
    lo = i
    while lo > 0 and not _CLAUSE_END.search(tokens[lo - 1]):
        lo -= 1
    hi = j
    while hi < len(tokens) and not _CLAUSE_END.search(tokens[hi - 1]):
        hi += 1
    return lo, hi


def _paraphrase(
    words: list[tuple[int, str]], topic: str, level: Difficulty, rng: random.Random
) -> list[str]:
    """Swap, drop or re-inflect content words; an opening pronoun may become the topic."""
    out = []
    for position, word in words:
        low = word.lower()
        if position == 0 and low in PRONOUNS and topic and rng.random() < level.topic:
            out.append(topic)
        elif not is_content(word):
            if rng.random() >= level.drop_function:
                out.append(low if position == 0 else word)
        elif low in SYNONYMS and rng.random() < level.synonym:
            out.append(rng.choice(SYNONYMS[low]))
        elif rng.random() < level.drop:
            continue
        else:
            if rng.random() < level.inflect:
                word = _inflect(word)
            out.append(word if position > 0 or word.isupper() else word[:1].lower() + word[1:])
    return out


def make_question(
    sentence: str, topic: str, level: Difficulty, rng: random.Random
) -> tuple[str, str] | None:
    """(question, answer) about one sentence, or None when it offers no good answer span.

    The answer's clause becomes the question: with the answer as its subject the wh-word
    takes the subject's place ("What provides a one-way channel?"); otherwise the wh-word
    stands where the answer stood ("A FIFO has what within the filesystem?"), and sometimes
    the words after it move to the front.
    """
    sentence = _PAREN.sub(" ", sentence)  # asides in brackets rarely make it into a question
    tokens = [t for t in sentence.split() if _core(t)]
    cores = [_core(t) for t in tokens]
    span = _answer_span(cores, rng)
    if span is None:
        return None
    i, j = span
    answer = " ".join(cores[i:j])
    lo, hi = _clause(tokens, i, j)
    keep = rng.randint(*level.side)
    lo, hi = max(lo, i - 2 * keep), min(hi, j + 2 * keep)
    if i > lo and cores[i - 1].lower() in _DETERMINERS:
        i -= 1  # "the finally clause" -> "what", not "the what"
    before = _paraphrase([(p, cores[p]) for p in range(lo, i)], topic, level, rng)
    after = _paraphrase([(p, cores[p]) for p in range(j, hi)], topic, level, rng)
    if sum(is_content(w) for w in before + after) < 3:
        return None
    wh = _wh(cores[span[0] : j], rng)
    if not before:  # the answer is the subject
        return f"{wh} {' '.join(after)}?", answer
    if after and rng.random() < level.reorder:
        return f"{' '.join(after)}: {wh.lower()} {' '.join(before)}?", answer
    return f"{' '.join(before)} {wh.lower()} {' '.join(after)}".strip() + "?", answer
