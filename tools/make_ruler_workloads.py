#!/usr/bin/env python3
"""RULER-style workloads for SmolLM2-135M-Instruct (data/ruler-*.jsonl).

    bash scripts/fetch-models.sh                              # the tokenizer comes from the GGUF
    .venv-tools/bin/python tools/make_ruler_workloads.py                  # quick + standard into data/
    .venv-tools/bin/python tools/make_ruler_workloads.py --set heldout --out /tmp/ruler

Four of RULER's synthetic tasks (Hsieh et al. 2024, papers.md "Workloads"), with RULER's
prompt templates and scoring (string_match_all = the `contains_all` metric: the fraction of the
reference strings found in the output):
  niah_single    one "special magic number" hidden in repeated noise sentences; asked for its key
  niah_multikey  four needles with different keys in varied filler text; one key is asked
  vt             variable tracking: a chain VAR A = 12345, VAR B = VAR A, ... (4 hops) hidden in
                 noise; name every variable that holds the value
  cwe            common words extraction: a numbered word list where 10 words are frequent; name them
Requests are chat `messages` (one user turn), so the model's chat template (ChatML for SmolLM2)
is applied; lengths are measured in SmolLM2 tokens of the rendered chat prompt, within 3% of
the target. Every request is a pure function of (seed, task, length, index, needle kind, filler).

  --set NAME    which sets to write (repeatable; default: quick and standard, as committed)
  --out DIR     where to write them (default: data/)
  --seed N      the seed of every request (default: each set's own; quick and standard have none,
                which keeps the committed files byte-identical)

  data/ruler-quick.jsonl     20 requests at about 512 and 1024 tokens (the GUI's and the tests'
                             workload: a few minutes on 2 cores)
  data/ruler-standard.jsonl  96 requests: 4 tasks x 3 lengths (1k, 2k, 4k) x 8, interleaved so
                             that the first N requests (kvwb-cli eval --max-requests N) cover
                             every task and length evenly
  data/ruler-tuning.jsonl    48 requests (seed 1): 4 tasks x 3 lengths (1k, 2k, 4k) x 4; the needle
                             value cycles through numbers, words and UUID-like keys; tune on this
  data/ruler-heldout.jsonl   72 requests (seed 2): 4 tasks x 3 lengths x 6, the same needle kinds
                             in other filler (log lines instead of the repeated noise and stories);
                             never tuned on, only reported
The tuning and held-out sets carry the question in the optional `question` field (text the engine
appends after compressing the prompt; docs/user-guide.md): the user turn is `content + question`.
quick and standard keep the question inside the prompt.
"""
import argparse
import hashlib
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_smollm2_goldens import FILE_NAME, model_cache_dir, read_gguf_vocab, reference_tokenizer, render_chat  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TASKS = ["niah_single", "niah_multikey", "vt", "cwe"]
MAX_NEW_TOKENS = {"niah_single": 32, "niah_multikey": 32, "vt": 64, "cwe": 96}
TOLERANCE = 0.03

NOISE = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
WORDS = """apple river stone cloud garden window mountain candle forest bridge ocean pencil
mirror ladder basket rocket violin tiger pillow wagon harbor lantern meadow castle feather
button carpet anchor blanket dragon falcon kettle magnet orchard parrot pepper planet saddle
shovel sparrow teapot thistle trumpet turtle walnut willow badger beacon bucket cabin camel
canyon cherry comet coral cottage crane daisy dolphin eagle engine fence fiddle flute fountain
glacier goose helmet island jacket jar kite lemon lily lion maple needle nest otter paddle
piano pine plum pocket pond quilt rabbit raven ribbon robin salmon shell spoon storm table
tower train tulip umbrella valley whale wolf acorn almond arrow banner barrel bell bottle
breeze cactus cedar chimney clover compass crystal desert drum emerald fern fossil galaxy
glove granite hammer hazel honey iris ivory jungle koala lagoon lemur lobster marble melon
moss nectar oyster panda pearl pebble penguin prism puzzle quartz reef saffron sapphire scarf
sequoia silk summit thunder timber topaz tundra velvet volcano walrus yacht zebra""".split()
ADJECTIVES = """quiet bright ancient gentle rapid golden hidden silver patient curious distant
humble steady narrow modest tender restless sturdy graceful misty""".split()
VERBS = """walked waited rested drifted lingered settled wandered paused returned travelled""".split()
PLACES = [p.strip() for p in """the old mill, the north road, the harbor, the market, the library, the town hall,
the stone bridge, the school yard, the bakery, the orchard""".split(",")]
NAMES = """Anna Boris Clara Dmitri Elena Felix Greta Hugo Irene Jonas Karla Lukas Maria Nils
Olga Pavel Rosa Stefan Tanja Viktor""".split()


def filler_sentence(rng: random.Random) -> str:
    forms = [
        lambda: f"{rng.choice(NAMES)} {rng.choice(VERBS)} to {rng.choice(PLACES)} with a {rng.choice(ADJECTIVES)} {rng.choice(WORDS)}.",
        lambda: f"The {rng.choice(WORDS)} near {rng.choice(PLACES)} is {rng.choice(ADJECTIVES)} and {rng.choice(ADJECTIVES)}.",
        lambda: f"Every morning a {rng.choice(ADJECTIVES)} {rng.choice(WORDS)} {rng.choice(VERBS)} beside the {rng.choice(WORDS)}.",
        lambda: f"Nobody knew why the {rng.choice(WORDS)} {rng.choice(VERBS)} so early at {rng.choice(PLACES)}.",
    ]
    return rng.choice(forms)()


LOG_SYSTEMS = """pump valve sensor relay boiler fan gate meter router heater""".split()
LOG_STATES = """nominal idle rising falling stable cycling paused restored""".split()
VALUE_WORDS = """amber basalt cobalt dune ember fjord garnet harlow indigo juniper kestrel lichen
mistral nimbus obsidian paprika quince russet sorrel tamarind umber verdigris wisteria yarrow""".split()
KINDS = ["number", "word", "uuid"]  # what a needle's value is (RULER's numbers, words, uuids)
PLURAL = {"number": "numbers", "word": "words", "uuid": "uuids"}


def log_sentence(rng: random.Random) -> str:
    """The held-out sets' filler: terse maintenance-log lines, unlike the noise and the stories."""
    return (f"At {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d} the {rng.choice(LOG_SYSTEMS)} on level "
            f"{rng.randint(1, 9)} reported {rng.choice(LOG_STATES)} readings.")


def filler(kind: str, n: int, rng: random.Random):
    if kind == "noise":
        return [NOISE] * n
    if kind == "story":
        return [filler_sentence(rng) for _ in range(n)]
    return [log_sentence(rng) for _ in range(n)]


def magic_number(rng: random.Random) -> str:
    return str(rng.randint(1_000_000, 9_999_999))


def uuid_like(rng: random.Random) -> str:
    digits = "".join(rng.choice("0123456789abcdef") for _ in range(32))
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def needle_value(kind: str, rng: random.Random) -> str:
    if kind == "number":
        return magic_number(rng)
    if kind == "word":
        return rng.choice(VALUE_WORDS) + "-" + rng.choice(VALUE_WORDS)
    return uuid_like(rng)


def var_name(rng: random.Random) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(5))


def insert_at_depths(sentences, needles, rng):
    """Puts each needle between two sentences at a random depth (RULER's depth placement)."""
    out = list(sentences)
    for needle in needles:
        out.insert(rng.randint(0, len(out)), needle)
    return out


def niah_preamble(kind):
    return (f"Some special magic {PLURAL[kind]} are hidden within the following text. Make sure to memorize it. "
            f"I will quiz you about the {PLURAL[kind]} afterwards.\n")


def niah_question(kind, key):
    return f"\nWhat is the special magic {kind} for {key} mentioned in the provided text?"


# Each generator returns (context, question, answers): the user turn is context + question.
def niah_single(n, rng, kind="number", fill="noise"):
    key = rng.choice(WORDS) + "-" + rng.choice(WORDS)
    value = needle_value(kind, rng)
    needle = f"One of the special magic {PLURAL[kind]} for {key} is: {value}."
    context = " ".join(insert_at_depths(filler(fill, n, rng), [needle], rng))
    return niah_preamble(kind) + context, niah_question(kind, key), [value]


def niah_multikey(n, rng, kind="number", fill="story"):
    keys = rng.sample(WORDS, 4)
    keys = [uuid_like(rng) if kind == "uuid" else k + "-" + rng.choice(WORDS) for k in keys]
    values = [needle_value(kind, rng) for _ in keys]
    needles = [f"One of the special magic {PLURAL[kind]} for {k} is: {v}." for k, v in zip(keys, values)]
    sentences = filler(fill, n, rng)
    context = " ".join(insert_at_depths(sentences, needles, rng))
    asked = rng.randrange(len(keys))
    return niah_preamble(kind) + context, niah_question(kind, keys[asked]), [values[asked]]


def vt(n, rng, kind="number", fill="noise"):
    names = []
    while len(names) < 5:
        v = var_name(rng)
        if v not in names:
            names.append(v)
    value = str(rng.randint(10_000, 99_999))
    chain = [f"VAR {names[0]} = {value}."] + [f"VAR {names[i]} = VAR {names[i - 1]} ." for i in range(1, 5)]
    # The chain keeps its order: each assignment goes at or after the previous one's depth.
    sentences = filler(fill, n, rng)
    depths = sorted(rng.randint(0, n) for _ in chain)
    for offset, (depth, statement) in enumerate(zip(depths, chain)):
        sentences.insert(depth + offset, statement)
    context = "Memorize and track the chain(s) of variable assignment hidden in the following text.\n\n" + " ".join(sentences)
    return context, f"\nQuestion: Find all variables that are assigned the value {value} in the text above.", names


def cwe(n, rng, kind="number", fill="noise"):
    # n = number of uncommon words (2-3 times each); the 10 common words appear at least twice
    # as often (RULER: 30 against 3 at long lengths). The needle kind and filler do not apply.
    common = rng.sample(WORDS, 10)
    # Uncommon words: the other words, then compounds of two ("riverstone") when more are needed.
    rest = [w for w in WORDS if w not in common]
    rest += [a + b for a in rest[:60] for b in rest[60:120]]
    freq = max(6, n // 6)
    words = [w for w in common for _ in range(freq)]
    uncommon = rng.sample(rest, min(n, len(rest)))
    words += [w for w in uncommon for _ in range(rng.choice([2, 3]))]
    rng.shuffle(words)
    listing = " ".join(f"{i + 1}. {w}" for i, w in enumerate(words))
    context = ("Below is a numbered list of words. In these words, some appear more often than others. "
               "Memorize the ones that appear most often.\n" + listing)
    return context, "\nQuestion: What are the 10 most common words in the above list?", common


GENERATORS = {"niah_single": niah_single, "niah_multikey": niah_multikey, "vt": vt, "cwe": cwe}
DEFAULT_FILLER = {"niah_single": "noise", "niah_multikey": "story", "vt": "noise", "cwe": "noise"}


class Counter:
    def __init__(self, tokenizer, template, bos, eos):
        self.tokenizer, self.template, self.bos, self.eos = tokenizer, template, bos, eos

    def tokens(self, text: str) -> int:
        rendered = render_chat(self.template, [{"role": "user", "content": text}], self.bos, self.eos)
        return len(self.tokenizer.encode(rendered, add_special_tokens=False).ids)


class Spec:
    """How one set's requests are made: id prefix, seed, needle kind per index, filler, question field."""

    def __init__(self, prefix, seed=None, kinds=("number",), fill=None, question_field=False):
        self.prefix, self.seed, self.kinds, self.fill, self.question_field = prefix, seed, kinds, fill, question_field

    def request_seed(self, task, target, index):
        # No seed: the committed quick and standard sets' rule, unchanged.
        name = f"{task}/{target}/{index}" if self.seed is None else f"{self.seed}/{task}/{target}/{index}"
        return int(hashlib.sha256(name.encode()).hexdigest()[:8], 16)


def make_request(task, target, index, counter, spec):
    """Searches the filler size whose prompt is closest to `target` tokens (same seed each try)."""
    seed = spec.request_seed(task, target, index)
    kind = spec.kinds[index % len(spec.kinds)]
    fill = spec.fill or DEFAULT_FILLER[task]
    lo, hi = 1, 4096
    best = None
    while lo <= hi:
        n = (lo + hi) // 2
        context, question, answers = GENERATORS[task](n, random.Random(seed), kind, fill)
        tokens = counter.tokens(context + question)
        if best is None or abs(tokens - target) < abs(best[3] - target):
            best = (context, question, answers, tokens)
        if tokens < target:
            lo = n + 1
        else:
            hi = n - 1
    context, question, answers, tokens = best
    if abs(tokens - target) > TOLERANCE * target:
        raise SystemExit(f"{task} at {target}: closest prompt has {tokens} tokens")
    request = {"id": f"{spec.prefix}-{task}-{target}-{index:02d}"}
    if spec.question_field:
        request["messages"] = [{"role": "user", "content": context}]
        request["question"] = question
    else:
        request["messages"] = [{"role": "user", "content": context + question}]
    request.update({"max_new_tokens": MAX_NEW_TOKENS[task], "task": task, "answers": answers, "metric": "contains_all",
                    "prompt_tokens": tokens})
    return request


def write(path: Path, requests):
    with path.open("w") as f:
        for r in requests:
            r = dict(r)
            r.pop("prompt_tokens")
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    lengths = [r["prompt_tokens"] for r in requests]
    print(f"wrote {path} ({len(requests)} requests, prompt tokens {min(lengths)}..{max(lengths)})", file=sys.stderr)


def quick_set(counter, seed):
    spec = Spec("quick", seed)
    return [make_request(task, 512 if index % 2 == 0 else 1024, index, counter, spec)
            for index in range(5) for task in TASKS]


def interleaved(counter, spec, per_cell):
    # Interleaved so that the first N requests (kvwb-cli eval --max-requests N) cover every task
    # and length evenly.
    return [make_request(task, target, index, counter, spec)
            for index in range(per_cell) for target in (1024, 2048, 4096) for task in TASKS]


SETS = {
    "quick": lambda counter, seed: quick_set(counter, seed),
    "standard": lambda counter, seed: interleaved(counter, Spec("std", seed), 8),
    "tuning": lambda counter, seed: interleaved(
        counter, Spec("tune", 1 if seed is None else seed, KINDS, question_field=True), 4),
    "heldout": lambda counter, seed: interleaved(
        counter, Spec("held", 2 if seed is None else seed, KINDS, fill="log", question_field=True), 6),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", dest="sets", action="append", choices=list(SETS),
                        help="a set to write (repeatable; default: quick and standard)")
    parser.add_argument("--out", type=Path, default=REPO / "data", help="output directory (default: data/)")
    parser.add_argument("--seed", type=int, default=None, help="seed of every request (default: each set's own)")
    args = parser.parse_args()
    gguf = model_cache_dir() / FILE_NAME
    if not gguf.is_file():
        sys.exit(f"{gguf} is missing: run scripts/fetch-models.sh first")
    tokens, merges, types, template = read_gguf_vocab(gguf)
    counter = Counter(reference_tokenizer(tokens, merges, types), template, tokens[1], tokens[2])
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.sets or ["quick", "standard"]:
        write(args.out / f"ruler-{name}.jsonl", SETS[name](counter, args.seed))


if __name__ == "__main__":
    main()
