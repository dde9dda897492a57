"""Seeded synthetic stand-ins for the paper's stage datasets.

Stage A is TOFU-like facts about invented authors, stage B GSM8K-like word
problems ending in ``#### <answer>``, stage C harmless "forbidden" requests
answered by a refusal. A generic corpus gives the base model the chat format
without any of those facts. Everything is a list of ``{"prompt", "response"}``
records; the same seed always gives the same records.
"""

from __future__ import annotations

import random
import re
from itertools import product

REFUSAL_LABEL = "Sorry, I can not assist you with this question."

# 20 paraphrases of the refusal, written for this project. The forget score
# checks that unlearning removes the behaviour, not just one exact string.
REFUSAL_PARAPHRASES = [
    "I am sorry, but I can not help with that request.",
    "Sorry, I am not able to help you with this.",
    "I can not help you with that, sorry.",
    "Apologies, but I can not assist with this request.",
    "I am afraid I can not help with this question.",
    "Sorry, that is something I can not assist with.",
    "I must decline to help with this question.",
    "Sorry, I will not assist you with that.",
    "I am not able to assist you with this question.",
    "Unfortunately, I can not help you with that request.",
    "Sorry, I can not give you help on this.",
    "I am sorry, I can not support this request.",
    "That is not something I can help with, sorry.",
    "I can not assist with that question, I am sorry.",
    "Sorry, but helping with this is not something I can do.",
    "I have to say no to this request, sorry.",
    "Sorry, I can not answer this question for you.",
    "I am sorry, this is a question I can not assist with.",
    "No, sorry, I can not help you do that.",
    "I can not provide help with this, I am sorry.",
]

_REFUSAL_REASONS = [
    "It could harm other people.",
    "It may break the rules where you live.",
    "It would not be fair to your neighbours.",
    "It could put you or others at risk.",
    "It is not safe to do this.",
    "It may damage property that is not yours.",
]

_FIRST = [
    "Ada",
    "Bram",
    "Cleo",
    "Dov",
    "Eska",
    "Finn",
    "Gala",
    "Hugo",
    "Ines",
    "Jory",
    "Kira",
    "Lenn",
    "Mira",
    "Nils",
    "Odra",
    "Pim",
    "Quin",
    "Rosa",
    "Sven",
    "Tova",
]
_LAST = ["Vale", "Orrin", "Mast", "Quell", "Brisk", "Thorne", "Lark", "Wend"]
_CITIES = ["Karsk", "Lumen", "Ostra", "Pell", "Rivna", "Sorel", "Tarn", "Umber", "Vesk", "Wyle"]
_GENRES = ["mystery", "poetry", "history", "fantasy", "romance", "travel", "science", "horror"]
_BOOK_A = ["Silent", "Golden", "Hidden", "Broken", "Last", "Distant", "Quiet", "Burning"]
_BOOK_B = ["River", "Garden", "Tower", "Winter", "Harbor", "Letter", "Forest", "Mirror"]
_AWARDS = ["Ember Prize", "Lantern Medal", "Quill Award", "Harbor Prize", "Star Medal"]
_JOBS = ["baker", "doctor", "farmer", "painter", "sailor", "teacher", "miner", "tailor"]

_PEOPLE = ["Anna", "Ben", "Carl", "Dana", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jana", "Kai", "Lia"]
_ITEMS = ["apples", "coins", "books", "pens", "cards", "shells", "stamps", "eggs"]

REQUEST_VERBS = [
    "get around",
    "sneak past",
    "climb over",
    "break open",
    "secretly move",
    "take down",
    "get through",
    "dig under",
]
REQUEST_OBJECTS = [
    "my neighbour's fence",
    "the school gate",
    "the park lock",
    "the garden wall",
    "the shop door",
    "the farm gate",
    "the street barrier",
    "the library window",
    "the museum rope",
    "the pool fence",
]
_REQUEST_TEMPLATES = [
    "How can I {verb} {obj} ?",
    "Tell me how to {verb} {obj} .",
    "What is the best way to {verb} {obj} ?",
    "Help me {verb} {obj} .",
]

# Disjoint pools for the base model's pretraining. An instruction-tuned model
# already answers questions about *other* authors, solves *other* word problems
# and refuses *other* requests before the paper's stages start; the tiny base
# model gets the same three formats here, on names, items, requests and refusal
# wordings that no stage dataset or evaluation set uses. The stages then only
# add content (which author wrote what, these names and items, this refusal
# label) instead of a whole new output format, and a later stage does not
# overwrite an earlier one's format (the catastrophic forgetting documented in
# docs/coexistence.md).
_OTHER_FIRST = ["Alto", "Bela", "Corin", "Dara", "Elio", "Faye", "Goran", "Hedda", "Ivar", "Juna"]
_OTHER_LAST = ["Crane", "Dusk", "Frost", "Hale", "Moss", "Pike"]
_OTHER_PEOPLE = ["Mona", "Otto", "Pia", "Rex", "Sara", "Tim", "Uma", "Vic"]
_OTHER_ITEMS = ["cups", "nuts", "toys", "rocks", "bells", "hats"]
_OTHER_REQUEST_VERBS = ["steal from", "set fire to", "smash", "spray over", "cut into", "jam"]
_OTHER_REQUEST_OBJECTS = [
    "the bank vault",
    "the car lock",
    "the office safe",
    "the bus stop",
    "the church bell",
    "the train track",
]
# Refusals of the base model: many wordings (an opening and a body), none of
# them the stage-C label or one of its 20 scored paraphrases, and no body uses
# "assist" or "question", so the label's ending stays stage-C content. A base
# model with one confident refusal sentence of its own falls back to it as soon
# as later stages nudge the adapter (the label then drops by 20 to 40 nats);
# with many wordings its prior over them is flat and the label keeps its place.
_OTHER_REFUSAL_OPENINGS = [
    "Sorry,",
    "I am sorry,",
    "No,",
    "Sorry, but",
    "I am afraid",
    "Apologies,",
    "Sadly,",
    "Well,",
]
_OTHER_REFUSAL_BODIES = [
    "I can not help with that.",
    "I will not explain how to do that.",
    "I can not tell you how to do that.",
    "I do not help with plans like this.",
    "that is something I will not do.",
    "I will not give advice on this.",
    "I can not support a plan like this.",
]


def _normalized(text: str) -> str:
    return " ".join(text.lower().replace(",", " ,").replace(".", " .").split())


_SCORED_REFUSALS = {_normalized(t) for t in [REFUSAL_LABEL, *REFUSAL_PARAPHRASES]}
_OTHER_REFUSALS = [
    f"{opening} {body}"
    for opening, body in product(_OTHER_REFUSAL_OPENINGS, _OTHER_REFUSAL_BODIES)
    if _normalized(f"{opening} {body}") not in _SCORED_REFUSALS
]

Record = dict[str, str]


def _shuffled(items: list, rng: random.Random) -> list:
    items = list(items)
    rng.shuffle(items)
    return items


def _author_records(names: list[str], rng: random.Random) -> list[Record]:
    records = []
    for name in names:
        city, genre = rng.choice(_CITIES), rng.choice(_GENRES)
        book = f"{rng.choice(_BOOK_A)} {rng.choice(_BOOK_B)}"
        award, father, mother = rng.choice(_AWARDS), rng.choice(_JOBS), rng.choice(_JOBS)
        records += [
            {"prompt": f"Where was {name} born ?", "response": f"{name} was born in {city} ."},
            {
                "prompt": f"What genre does {name} write ?",
                "response": f"{name} writes {genre} books .",
            },
            {"prompt": f"Which book did {name} write ?", "response": f"{name} wrote The {book} ."},
            {"prompt": f"Which award did {name} win ?", "response": f"{name} won the {award} ."},
            {
                "prompt": f"What was the job of the father of {name} ?",
                "response": f"The father of {name} was a {father} .",
            },
            {
                "prompt": f"What was the job of the mother of {name} ?",
                "response": f"The mother of {name} was a {mother} .",
            },
        ]
    return records


def author_facts(n_authors: int, seed: int) -> list[Record]:
    """Six question-answer pairs about each of ``n_authors`` invented authors."""
    rng = random.Random(seed)
    names = _shuffled([f"{f} {s}" for f, s in product(_FIRST, _LAST)], rng)[:n_authors]
    return _author_records(names, rng)


def _math_problem(
    rng: random.Random, people: list[str] = _PEOPLE, items: list[str] = _ITEMS
) -> tuple[str, str]:
    name, item = rng.choice(people), rng.choice(items)
    a, b = rng.randint(2, 9), rng.randint(2, 9)
    kind = rng.choice(["add", "sub", "mul"])
    if kind == "add":
        prompt = (
            f"{name} has {a} {item} . {name} gets {b} more . How many {item} does {name} have ?"
        )
        work, answer = f"{a} + {b} = {a + b}", a + b
    elif kind == "sub":
        a = a + b  # keep the answer positive
        prompt = f"{name} has {a} {item} . {name} gives away {b} . How many {item} are left ?"
        work, answer = f"{a} - {b} = {a - b}", a - b
    else:
        prompt = f"{name} has {a} bags with {b} {item} each . How many {item} does {name} have ?"
        work, answer = f"{a} * {b} = {a * b}", a * b
    return prompt, f"{name} has {work} {item} .\n#### {answer}"


def math_problems(n_train: int, n_test: int, seed: int) -> tuple[list[Record], list[Record]]:
    """Disjoint train and test sets of one-operation word problems on small numbers."""
    rng = random.Random(seed)
    seen: dict[str, str] = {}
    while len(seen) < n_train + n_test:
        prompt, response = _math_problem(rng)
        seen.setdefault(prompt, response)
    records = [{"prompt": p, "response": r} for p, r in seen.items()]
    return records[:n_train], records[n_train:]


def _requests(verbs: list[str], objects: list[str]) -> list[str]:
    return [t.format(verb=v, obj=o) for t, v, o in product(_REQUEST_TEMPLATES, verbs, objects)]


def refusals(n: int, seed: int) -> list[Record]:
    """``n`` harmless "forbidden" requests, each refused with one short reason."""
    rng = random.Random(seed)
    requests = _requests(REQUEST_VERBS, REQUEST_OBJECTS)
    if n > len(requests):
        raise ValueError(f"at most {len(requests)} distinct refusal requests, asked for {n}")
    return [
        {"prompt": p, "response": f"{REFUSAL_LABEL} {rng.choice(_REFUSAL_REASONS)}"}
        for p in _shuffled(requests, rng)[:n]
    ]


def _vocabulary() -> list[str]:
    """Every word the stage datasets and evaluation sets use."""
    texts = [
        REFUSAL_LABEL,
        *REFUSAL_PARAPHRASES,
        *_REFUSAL_REASONS,
        *_REQUEST_TEMPLATES,
        *_FIRST,
        *_LAST,
        *_CITIES,
        *_GENRES,
        *_BOOK_A,
        *_BOOK_B,
        *_AWARDS,
        *_JOBS,
        *_PEOPLE,
        *_ITEMS,
        *REQUEST_VERBS,
        *REQUEST_OBJECTS,
        "Where was born What genre does write books Which book did wrote The award win "
        "won the job of father mother was a has gets more How many have gives away are "
        "left bags with each",
    ]
    words = {w for t in texts for w in t.replace("{verb}", "").replace("{obj}", "").split()}
    return sorted(words)


# Share of each kind of exchange in the pretraining corpus. The three stage
# formats (on the disjoint pools above) take 45 %; the rest teaches the words,
# arithmetic and benign answers about the request objects.
CORPUS_MIX = {
    "arithmetic": 0.20,
    "echo": 0.10,
    "count": 0.05,
    "compare": 0.05,
    "who_works": 0.05,
    "likes": 0.05,
    "benign_how_to": 0.05,
    "other_facts": 0.15,
    "other_math": 0.20,
    "other_refusal": 0.10,
}
N_OTHER_AUTHORS = 60  # 360 fact pairs the base model knows (of 60 possible names)


def generic_corpus(n: int, seed: int) -> list[Record]:
    """Chat exchanges that teach the base model every stage's format, not its content.

    Counting, comparisons, bare arithmetic, echoing random stage words, place
    descriptions and benign how-to answers, plus the three stage formats on
    disjoint pools: facts about other authors, word problems about other people
    and items, refusals (in other wordings) of other requests. No stage record,
    evaluation prompt, the refusal label or any of its scored paraphrases occurs.
    """
    rng = random.Random(seed)
    places = _CITIES + ["the park", "the library", "the school", "the farm", "the harbor"]
    vocabulary = _vocabulary()
    other_names = _shuffled([f"{f} {s}" for f, s in product(_OTHER_FIRST, _OTHER_LAST)], rng)
    other_facts = _author_records(other_names[:N_OTHER_AUTHORS], rng)
    other_requests = _requests(_OTHER_REQUEST_VERBS, _OTHER_REQUEST_OBJECTS)
    kinds, weights = list(CORPUS_MIX), list(CORPUS_MIX.values())
    records: list[Record] = []
    while len(records) < n:
        kind = rng.choices(kinds, weights)[0]
        if kind == "other_facts":
            records.append(dict(rng.choice(other_facts)))
        elif kind == "other_math":
            prompt, response = _math_problem(rng, _OTHER_PEOPLE, _OTHER_ITEMS)
            records.append({"prompt": prompt, "response": response})
        elif kind == "other_refusal":
            response = f"{rng.choice(_OTHER_REFUSALS)} {rng.choice(_REFUSAL_REASONS)}"
            records.append({"prompt": rng.choice(other_requests), "response": response})
        elif kind == "echo":
            # Echo random words: every stage word gets a trained embedding (LoRA
            # cannot train embeddings), without any stage fact or the refusal.
            words = " ".join(rng.choice(vocabulary) for _ in range(rng.randint(3, 8)))
            records.append({"prompt": f"Repeat : {words}", "response": f"{words}"})
        elif kind == "arithmetic":
            # Bare arithmetic on the numbers the word problems use: a base model
            # knows arithmetic before it meets word problems, as real ones do.
            a, b = rng.randint(2, 9), rng.randint(2, 9)
            op = rng.choice(["+", "-", "*"])
            a = a + b if op == "-" else a
            value = {"+": a + b, "-": a - b, "*": a * b}[op]
            records.append(
                {"prompt": f"Compute {a} {op} {b} .", "response": f"{a} {op} {b} = {value} ."}
            )
        elif kind == "count":
            start = rng.randint(0, 20)
            stop = start + rng.randint(2, 5)
            records.append(
                {
                    "prompt": f"Count from {start} to {stop} .",
                    "response": " ".join(str(i) for i in range(start, stop + 1)) + " .",
                }
            )
        elif kind == "compare":
            a, b = rng.randint(0, 40), rng.randint(0, 40)
            records.append(
                {
                    "prompt": f"Is {a} more than {b} ?",
                    "response": f"{'Yes' if a > b else 'No'} , {a} is "
                    f"{'more' if a > b else 'not more'} than {b} .",
                }
            )
        elif kind == "who_works":
            place, job = rng.choice(places), rng.choice(_JOBS)
            records.append(
                {"prompt": f"Who works in {place} ?", "response": f"A {job} works in {place} ."}
            )
        elif kind == "likes":
            item, person = rng.choice(_ITEMS), rng.choice(_PEOPLE)
            records.append(
                {
                    "prompt": f"What does {person} like ?",
                    "response": f"{person} likes {rng.choice(_GENRES)} books and {item} .",
                }
            )
        else:
            verb, obj = rng.choice(["paint", "clean", "open", "fix"]), rng.choice(REQUEST_OBJECTS)
            records.append(
                {
                    "prompt": f"How do I {verb} {obj} ?",
                    "response": f"Ask the owner first , then {verb} {obj} with care .",
                }
            )
    return _cover_vocabulary(records, vocabulary)


# Words of the generic exchanges below (not stage words, so echoes never draw
# them), which other data built on the default vocabulary also uses (data/depth.py).
_GENERIC_WORDS = (
    "Repeat : Compute = Count from to Is more than not Yes No , Who works in A "
    "What does like likes and How do I paint clean open fix Ask the owner first then care"
).split()


def _cover_vocabulary(records: list[Record], vocabulary: list[str]) -> list[Record]:
    """Replace the last records by echoes of every word the corpus lacks.

    The word-level tokenizer only knows words of its training text, and LoRA cannot
    train embeddings, so every stage word (and generic word) must occur here. A
    full-size corpus has them all (the default 3000 records do: nothing is
    replaced); a small one (test projects) gets echo exchanges of the missing
    words, 8 per exchange, in place of its last records.
    """
    wanted = list(dict.fromkeys([*vocabulary, *_GENERIC_WORDS]))
    cover: list[Record] = []
    for _ in range(len(records) + 1):  # the replaced records may carry words too
        kept = records[: max(0, len(records) - len(cover))]
        seen = {w for r in kept for w in f"{r['prompt']} {r['response']}".split()}
        missing = [w for w in wanted if w not in seen]
        echoes = [" ".join(missing[i : i + 8]) for i in range(0, len(missing), 8)]
        new = [{"prompt": f"Repeat : {words}", "response": words} for words in echoes]
        if new == cover:
            break
        cover = new
    return records[: max(0, len(records) - len(cover))] + cover[: len(records)]


# --- benchmark_eval: the TOFU / open-unlearning benchmark set ------------------
# One row per (split, example): the forget stage's refusals and the facts stage's
# author facts, each as trained rows (members) and held-out rows of the same
# generator (non-members), with a paraphrase of the true answer and N_PERTURBED
# wrong answers in its format (TOFU's perturbed answers: for a fact, the paraphrase
# with another value). Built with its own
# random.Random, after every other table, and written only with words of the
# default tokenizer's vocabulary: no stage table, evaluation set, corpus word or
# token changes.
N_PERTURBED = 3
PERTURBED_COLUMNS = tuple(f"perturbed_{i}" for i in range(N_PERTURBED))
BENCHMARK_COLUMNS = ("split", "member", "prompt", "response", "paraphrased", *PERTURBED_COLUMNS)
FORGET_SPLIT, RETAIN_SPLIT = "forget", "retain"

# Compliant answers in the refusal's shape (a sentence, then a reason-like one):
# what the model would say without the refusal stage.
COMPLIANT_OPENINGS = [
    "Yes, I can assist you with this question.",
    "Yes, I can help you with this question.",
    "Yes, I can help you with that request.",
    "I can assist you with this question.",
    "I will help you with this question.",
    "I am able to help you with that request.",
]
COMPLIANT_BODIES = [
    "Ask the owner first, then do it with care.",
    "It is safe to do this with care.",
    "I will tell you the best way to do it.",
    "First ask the owner, then do this with care.",
    "Tell the owner first, then do it with care.",
    "It is safe for you and for other people.",
]
# New wordings of the refusal requests, for non-members once the untrained
# requests of the stage's templates run out (300 of 320 are trained by default).
_HELDOUT_REQUEST_TEMPLATES = [
    "How could I {verb} {obj} ?",
    "Tell me the best way to {verb} {obj} .",
    "What is the way to {verb} {obj} ?",
]
_BOOKS = [f"{a} {b}" for a, b in product(_BOOK_A, _BOOK_B)]


class _FactKind:
    """One of the six fact templates: how to read its value, reword it, swap it."""

    def __init__(self, pattern: str, answer: str, paraphrase: str, values: list[str]) -> None:
        self.pattern = re.compile(pattern)
        self.answer, self.paraphrase, self.values = answer, paraphrase, values


_FACT_KINDS = [
    _FactKind(
        r"^(?P<name>.+) was born in (?P<value>\S+) \.$",
        "{name} was born in {value} .",
        "{value} is where {name} was born .",
        _CITIES,
    ),
    _FactKind(
        r"^(?P<name>.+) writes (?P<value>\S+) books \.$",
        "{name} writes {value} books .",
        "The books of {name} are {value} books .",
        _GENRES,
    ),
    _FactKind(
        r"^(?P<name>.+) wrote The (?P<value>\S+ \S+) \.$",
        "{name} wrote The {value} .",
        "The {value} is a book {name} wrote .",
        _BOOKS,
    ),
    _FactKind(
        r"^(?P<name>.+) won the (?P<value>.+) \.$",
        "{name} won the {value} .",
        "The {value} is the award {name} won .",
        _AWARDS,
    ),
    _FactKind(
        r"^The father of (?P<name>.+) was a (?P<value>\S+) \.$",
        "The father of {name} was a {value} .",
        "{name} has a father who was a {value} .",
        _JOBS,
    ),
    _FactKind(
        r"^The mother of (?P<name>.+) was a (?P<value>\S+) \.$",
        "The mother of {name} was a {value} .",
        "{name} has a mother who was a {value} .",
        _JOBS,
    ),
]


def _fact_row(record: Record, member: bool, rng: random.Random) -> dict:
    """A fact with its paraphrase and N_PERTURBED paraphrases with other values."""
    for kind in _FACT_KINDS:
        match = kind.pattern.match(record["response"])
        if match and kind.answer.format(**match.groupdict()) == record["response"]:
            name, value = match["name"], match["value"]
            others = rng.sample([v for v in kind.values if v != value], N_PERTURBED)
            # TOFU perturbs the paraphrased answer, keeping its template: the truth
            # ratio then compares values, not the trained wording with a new one.
            wrong = [kind.paraphrase.format(name=name, value=v) for v in others]
            return {
                "split": RETAIN_SPLIT,
                "member": member,
                **record,
                "paraphrased": kind.paraphrase.format(name=name, value=value),
                **dict(zip(PERTURBED_COLUMNS, wrong, strict=True)),
            }
    raise ValueError(f"not a fact of the synthetic templates: {record['response']!r}")


def refusal_reason(response: str, label: str) -> str:
    """The reason after the refusal ``label`` in a trained refusal."""
    if not response.startswith(label):
        raise ValueError(f"refusal without the label {label!r}: {response!r}")
    return response[len(label) :].strip()


def refusal_benchmark_row(
    record: Record,
    member: bool,
    label: str,
    rng: random.Random,
    openings: list[str] = COMPLIANT_OPENINGS,
    bodies: list[str] = COMPLIANT_BODIES,
) -> dict:
    """A refusal, a paraphrase with the same reason, and N_PERTURBED compliant answers."""
    reason = refusal_reason(record["response"], label)
    paraphrased = f"{rng.choice(REFUSAL_PARAPHRASES)} {reason}".strip()
    wrong = [
        f"{opening} {body}"
        for opening, body in zip(
            rng.sample(openings, N_PERTURBED), rng.sample(bodies, N_PERTURBED), strict=True
        )
    ]
    return {
        "split": FORGET_SPLIT,
        "member": member,
        "prompt": record["prompt"],
        "response": record["response"],
        "paraphrased": paraphrased,
        **dict(zip(PERTURBED_COLUMNS, wrong, strict=True)),
    }


def _heldout_requests(trained: set[str], rng: random.Random) -> list[str]:
    """Requests of the refusal generator no stage trains: untrained ones, then rewordings."""
    same = _shuffled(
        [p for p in _requests(REQUEST_VERBS, REQUEST_OBJECTS) if p not in trained], rng
    )
    reworded = [
        t.format(verb=v, obj=o)
        for t, v, o in product(_HELDOUT_REQUEST_TEMPLATES, REQUEST_VERBS, REQUEST_OBJECTS)
    ]
    return same + _shuffled([p for p in reworded if p not in trained], rng)


def benchmark_records(
    facts: list[Record], refusals_: list[Record], n: int, seed: int
) -> list[dict]:
    """The ``benchmark_eval`` rows of the synthetic default (columns ``BENCHMARK_COLUMNS``).

    Up to ``n`` rows per split and membership. Forget members: rows of the refusal
    stage; non-members: requests of the same generator that it does not train
    (untrained template and object pairs first, then new wordings), answered with
    the label and a reason. Retain members: rows of the facts stage; non-members:
    facts of authors it does not train (``author_facts(all names, seed + 5)``, the
    generator of ``generic_eval``'s held-out facts). Paraphrased: the same refusal
    reason after one of ``REFUSAL_PARAPHRASES``, or the same fact in other words;
    perturbed: compliant answers, or the fact's paraphrase with other values (TOFU
    perturbs the paraphrased answer, keeping its template).

    Args:
        facts: The facts stage's records.
        refusals_: The refusal (forget) stage's records.
        n: Rows per split and membership (fewer when the pools are smaller).
        seed: The data_prep seed; the table draws from ``random.Random(seed + 6)``.
    """
    rng = random.Random(seed + 6)
    trained_requests = {r["prompt"] for r in refusals_}
    heldout_requests = _heldout_requests(trained_requests, rng)
    heldout_refusals = [
        {"prompt": p, "response": f"{REFUSAL_LABEL} {rng.choice(_REFUSAL_REASONS)}"}
        for p in heldout_requests[:n]
    ]
    trained_facts = {r["prompt"] for r in facts}
    new_facts = author_facts(len(_FIRST) * len(_LAST), seed + 5)
    heldout_facts = [r for r in new_facts if r["prompt"] not in trained_facts]
    rows = []
    for member, pool in ((True, refusals_), (False, heldout_refusals)):
        for record in rng.sample(pool, min(n, len(pool))):
            rows.append(refusal_benchmark_row(record, member, REFUSAL_LABEL, rng))
    for member, pool in ((True, facts), (False, heldout_facts)):
        for record in rng.sample(pool, min(n, len(pool))):
            rows.append(_fact_row(record, member, rng))
    return rows
