#!/usr/bin/env python3
"""Synthetic long-context tasks for the demo model, and the committed workloads made from them.

Every request is a pure function of (task, seed, prompt length in bytes), so the training
stream, the validation set and the committed test workloads can never overlap: they draw their
seeds from disjoint ranges (SPLIT_BASE). Prompts are ASCII, so with the byte tokenizer one byte
is one token (plus <bos>). Every prompt ends with ANSWER_CUE; the model is trained to write the
answer and then <eos>.

    .venv-tools/bin/python tools/demo_tasks.py --write-data        # data/demo-*.jsonl
    .venv-tools/bin/python tools/demo_tasks.py --show niah_multikey --length 400 --seed 3

Tasks (RULER names where one matches, papers.md "Workloads"):
  niah_single         one pass key hidden at a random depth, asked at the end        (em)
  niah_multikey       many key -> number pairs, one asked; distractors share words  (em)
  vt                  chains of variable assignments; name every variable = value    (contains_all)
  marked_list         list, in order, every item marked *like this* in the text     (rouge_l)
  qa_question_first   the question comes first, then the facts, then the cue        (em)
  arith_sum           add the numbers stated in the text, written as "a + b = c"    (em)
"""
import argparse
import json
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ANSWER_CUE = "\nAnswer: "
MIN_PROMPT_BYTES = 192
# Longest prompt: with <bos>, the longest answer (~90 bytes) and <eos> it stays within the
# trained context of 2048 tokens.
MAX_PROMPT_BYTES = 1920

# Disjoint seed ranges: training draws below 10**9, the validation set used while training
# from VALIDATION, the committed workloads from TEST.
SPLIT_BASE = {"train": 0, "validation": 1_000_000_000, "test": 2_000_000_000}
TASK_SALT = {"niah_single": 11, "niah_multikey": 23, "vt": 37, "marked_list": 41,
             "qa_question_first": 53, "arith_sum": 67}
TASKS = list(TASK_SALT)
METRIC = {"niah_single": "em", "niah_multikey": "em", "vt": "contains_all",
          "marked_list": "rouge_l", "qa_question_first": "em", "arith_sum": "em"}

# Word lists for filler, keys and items. No digits, no task phrases ("pass key", "special
# number", "VAR", "lives in", "number is", "*") so needles stay unambiguous.
ADJECTIVES = """amber ancient bitter bold brave bright broken calm clever cold copper crimson
curious dark distant dusty eager early empty faint famous fierce gentle giant golden graceful
green grey hidden hollow humble icy idle kind late lazy little lonely loud lucky misty modest
narrow noble odd old orange pale patient plain polite proud purple quiet rapid rare restless
rough round rusty sharp shiny silent silver simple sleepy slow small smooth soft solid steady
strange sturdy sudden sweet swift tall tender tiny velvet violet warm weary wild wise wooden
young""".split()
NOUNS = """anchor apple arrow badger banner barrel basket beacon bell blanket boat bottle bridge
bucket button cabin camel candle canyon carpet castle cedar chair cherry cloud comet coral
cottage crane crown daisy desk dolphin door dragon drum eagle engine falcon feather fence fern
fiddle flag flute forest fountain fox garden gate glacier globe goose harbor hawk helmet hill
island jacket jar kettle kite ladder lamp lantern lemon lily lion magnet maple meadow mirror
moon mountain needle nest oak orchard otter owl paddle parrot pebble pencil pepper piano pillow
pine planet plum pocket pond quilt rabbit raven ribbon river robin rocket saddle sail salmon
shell shovel sparrow spoon star stone storm sun table teapot thistle tiger tower train trumpet
tulip turtle umbrella valley violin wagon walnut whale willow window wolf""".split()
VERBS_PAST = """waited wandered rested glowed drifted lingered sparkled rolled floated settled
trembled shifted paused leaned hummed swayed rattled vanished returned appeared""".split()
VERBS_PRESENT = """waits wanders rests glows drifts lingers sparkles rolls floats settles
trembles shifts pauses leans hums sways rattles hides returns sleeps""".split()
ADVERBS = """quietly slowly gently calmly softly briefly happily lazily proudly boldly
carefully suddenly patiently silently warmly""".split()
PLACES = ["the market", "the river bank", "the old mill", "the village square", "the harbor wall",
          "the station", "the library", "the bakery", "the orchard", "the hill top",
          "the garden gate", "the north road", "the stone bridge", "the quiet lane",
          "the town hall", "the forest edge", "the meadow path", "the school yard"]
TIMES = """morning evening night spring summer autumn winter week holiday dawn""".split()
NAMES = """Ada Alma Anton Aria Basil Bea Boris Cara Cleo Dara Dina Edgar Elsa Emil Enzo Ezra
Fay Felix Flora Gil Greta Hana Hugo Ida Igor Ines Ivan Jada Jonas Juno Kai Kira Lars Lena Leo
Lina Luca Lumi Mara Milo Mira Nadia Nell Nico Nina Nora Odin Olga Omar Otto Pia Quinn Rafa Rosa
Ruth Sami Sara Selma Sven Tara Teo Theo Uma Una Vera Vito Wren Yara Yuri Zara Zeno""".split()
CITIES = """Amberly Ashford Baymouth Brightwater Cloudmere Coldharbor Corvale Dunmore Eastwick
Elmstead Fairhaven Fenwick Glenrock Goldcrest Greywater Hallowmere Highgate Ironbridge Kestrel
Lakeside Larkfield Lowmoor Marbleton Meadowvale Millbrook Northfield Oakridge Pinecrest
Queensbury Ravenhill Redcliff Riverton Rosewood Saltmarsh Silverlake Southport Stonebury
Thornwick Westmere Whitby Willowdale Windmere Winterfell Yarrow""".split()
ORDINALS = ["first", "second", "third", "fourth"]


def _a(word):
    return "an" if word[0] in "aeiou" else "a"


def filler_sentence(rng):
    """One templated sentence of distractor text (no digits, no task phrases)."""
    adj, adj2 = rng.choice(ADJECTIVES), rng.choice(ADJECTIVES)
    noun, noun2 = rng.choice(NOUNS), rng.choice(NOUNS)
    place, name = rng.choice(PLACES), rng.choice(NAMES)
    past, pres, adv, time = (rng.choice(VERBS_PAST), rng.choice(VERBS_PRESENT),
                             rng.choice(ADVERBS), rng.choice(TIMES))
    templates = [
        f"The {adj} {noun} {past} near {place}.",
        f"{name} saw {_a(adj)} {adj} {noun} by {place}.",
        f"Every {time}, the {noun} {pres} {adv}.",
        f"{_a(noun).capitalize()} {noun} and {_a(noun2)} {noun2} {past} {adv} at {place}.",
        f"Nobody knew why the {adj} {noun} {past} so {adv}.",
        f"In the {time}, {name} walked to {place} with {_a(adj2)} {adj2} {noun2}.",
        f"The {noun} near {place} is {adj} and {adj2}.",
        f"{name} said that the {noun2} {pres} {adv} every {time}.",
        f"Beside the {adj} {noun}, {_a(noun2)} {noun2} {past}.",
        f"It was {_a(adj)} {adj} {time}, and the {noun} {past} {adv}.",
        f"{name} kept {_a(adj)} {adj} {noun} under the {noun2}.",
        f"Far from {place}, the {adj2} {noun2} {pres}.",
    ]
    return rng.choice(templates)


def distinct(rng, pool, count, exclude=()):
    choices = [x for x in pool if x not in exclude]
    return rng.sample(choices, count)


def random_number(rng, digits_lo, digits_hi):
    digits = rng.randint(digits_lo, digits_hi)
    return str(rng.randint(10 ** (digits - 1), 10 ** digits - 1))


def weave(rng, needles, budget, keep_order=True):
    """Filler sentences around the needles until the text reaches `budget` bytes.

    Needles land at random depths; with keep_order they appear in the given order."""
    filler, size, misses = [], sum(len(n) + 1 for n in needles), 0
    while misses < 8:  # when a sentence does not fit, a few shorter ones may still
        s = filler_sentence(rng)
        if size + len(s) + 1 > budget and filler:
            misses += 1
            continue
        filler.append(s)
        size += len(s) + 1
    slots = sorted(rng.randint(0, len(filler)) for _ in needles)
    order = list(needles) if keep_order else rng.sample(list(needles), len(needles))
    out, j = [], 0
    for i in range(len(filler) + 1):
        while j < len(slots) and slots[j] == i:
            out.append(order[j])
            j += 1
        if i < len(filler):
            out.append(filler[i])
    # Line breaks every few sentences make the text look like paragraphs.
    text = ""
    for i, s in enumerate(out):
        text += s + ("\n" if i % 6 == 5 else " ")
    return text.rstrip(" \n")


# Each builder returns (needles, question, answer_text, answers, question_first, keep_order).
def build_niah_single(rng, length):
    key = random_number(rng, 4, 7)
    needle = f"The pass key is {key}. Remember it. {key} is the pass key."
    return [needle], "What is the pass key?", key, [key], False, True


def build_niah_multikey(rng, length):
    count = max(3, min(24, length // 80))
    keys = {}  # insertion-ordered set: a set's order changes with PYTHONHASHSEED
    target_adj, target_noun = rng.choice(ADJECTIVES), rng.choice(NOUNS)
    keys[f"{target_adj}-{target_noun}"] = None
    if rng.random() < 0.6:  # distractors that share one word with the asked key
        keys[f"{rng.choice(ADJECTIVES)}-{target_noun}"] = None
        keys[f"{target_adj}-{rng.choice(NOUNS)}"] = None
    while len(keys) < count:
        keys[f"{rng.choice(ADJECTIVES)}-{rng.choice(NOUNS)}"] = None
    values = {}
    for k in keys:
        v = random_number(rng, 4, 7)
        while v in values.values():
            v = random_number(rng, 4, 7)
        values[k] = v
    asked = f"{target_adj}-{target_noun}"
    needles = [f"The special number for {k} is {values[k]}." for k in sorted(keys)]
    rng.shuffle(needles)
    return (needles, f"What is the special number for {asked}?", values[asked],
            [values[asked]], False, True)


def var_name(rng):
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))


def build_vt(rng, length):
    chains = 2 if length < 700 else 3
    names = {}  # insertion-ordered set: a set's order changes with PYTHONHASHSEED
    while len(names) < chains * 4:
        names[var_name(rng)] = None
    names = list(names)
    values = {}  # insertion-ordered set: a set's order changes with PYTHONHASHSEED
    while len(values) < chains:
        values[random_number(rng, 5, 5)] = None
    values = list(values)
    lines_per_chain = []
    for c in range(chains):
        hops = rng.randint(2, 4)
        chain = names[c * 4:c * 4 + hops]
        lines = [f"VAR {chain[0]} = {values[c]}."]
        lines += [f"VAR {chain[i]} = {chain[i - 1]}." for i in range(1, hops)]
        lines_per_chain.append((chain, lines))
    # Interleave the chains while keeping each chain's assignments in order.
    cursors = [0] * chains
    needles = []
    while any(cursors[c] < len(lines_per_chain[c][1]) for c in range(chains)):
        c = rng.choice([c for c in range(chains) if cursors[c] < len(lines_per_chain[c][1])])
        needles.append(lines_per_chain[c][1][cursors[c]])
        cursors[c] += 1
    chain = lines_per_chain[0][0]
    question = f"Find all variables that are assigned the value {values[0]}."
    return needles, question, " ".join(chain), chain, False, True


def build_marked_list(rng, length):
    count = rng.randint(2, 3) if length < 600 else rng.randint(3, 6)
    items = {}  # insertion-ordered set: a set's order changes with PYTHONHASHSEED
    while len(items) < count:
        items[f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"] = None
    items = list(items)
    frames = ["Someone wrote *{}* in the book.", "On the shelf there was *{}*.",
              "{} found *{}* near {}.", "The list said *{}*."]
    needles = []
    for it in items:
        f = rng.choice(frames)
        needles.append(f.format(rng.choice(NAMES), it, rng.choice(PLACES)) if f.count("{}") == 3
                       else f.format(it))
    answer = ", ".join(items)
    return (needles, "List, in order, all the items marked with stars.", answer, [answer],
            False, True)


def build_qa_question_first(rng, length):
    count = max(3, min(20, length // 90))
    people = distinct(rng, NAMES, count)
    towns = [rng.choice(CITIES) for _ in people]
    needles = [f"{p} lives in {t}." for p, t in zip(people, towns)]
    asked = rng.randrange(count)
    question = f"In which city does {people[asked]} live?"
    return needles, question, towns[asked], [towns[asked]], True, True


def build_arith_sum(rng, length):
    count = rng.randint(2, 3)
    nums = [rng.randint(1, 99) for _ in range(count)]
    needles = [f"The {ORDINALS[i]} number is {n}." for i, n in enumerate(nums)]
    answer = " + ".join(map(str, nums)) + f" = {sum(nums)}"
    return needles, "What is the sum of the numbers?", answer, [answer], False, True


BUILDERS = {"niah_single": build_niah_single, "niah_multikey": build_niah_multikey,
            "vt": build_vt, "marked_list": build_marked_list,
            "qa_question_first": build_qa_question_first, "arith_sum": build_arith_sum}


def make_request(task, seed, length, min_length=MIN_PROMPT_BYTES):
    """A request dict (workload JSONL fields plus 'target') whose prompt is about `length` bytes.

    'target' is the exact text the model is trained to write before <eos>. min_length: the
    shortest prompt asked for (training goes below the workloads' floor; the needles and the
    question may then make the prompt longer than asked)."""
    if task not in BUILDERS:
        raise ValueError(f"unknown task {task!r}; known: {', '.join(TASKS)}")
    length = max(min_length, int(length))
    rng = random.Random(seed * 1000 + TASK_SALT[task])
    needles, question, target, answers, question_first, keep_order = BUILDERS[task](rng, length)
    if question_first:
        head, tail = f"Question: {question}\nText: ", ANSWER_CUE
    else:
        head, tail = "", f"\nQuestion: {question}" + ANSWER_CUE
    budget = length - len(head) - len(tail)
    prompt = head + weave(rng, needles, budget, keep_order) + tail
    return {"task": task, "prompt": prompt, "target": target, "answers": answers,
            "metric": METRIC[task], "max_new_tokens": len(target.encode()) + 8}


# Training-only warm-up task, never in the workloads: copy a random string of numbers, variable
# names and nouns. Its answer is dense copying (an induction head's job), which a small model
# learns long before retrieval through filler; the retrieval tasks then reuse that circuit.
COPY_TASK = "copy"
COPY_SALT = 79


def make_copy_request(seed, length):
    """A training request: 'Copy the text exactly.' + a 16-56 byte string, a little filler."""
    rng = random.Random(seed * 1000 + COPY_SALT)
    words, size = [], rng.randint(16, 56)
    while sum(len(w) + 1 for w in words) < size:
        kind = rng.random()
        words.append(random_number(rng, 2, 7) if kind < 0.4 else
                     var_name(rng) if kind < 0.7 else rng.choice(NOUNS))
    text = " ".join(words)
    head = f"Copy the text exactly.\nText: {text}\n"
    filler = weave(rng, [], max(0, min(int(length) // 3, 160) - len(head)))
    prompt = head + filler + ANSWER_CUE
    return {"task": COPY_TASK, "prompt": prompt, "target": text, "answers": [text],
            "metric": "em", "max_new_tokens": len(text) + 8}


def make_training_request(task, seed, length, min_length=MIN_PROMPT_BYTES):
    """make_request, plus the training-only COPY_TASK."""
    if task == COPY_TASK:
        return make_copy_request(seed, length)
    return make_request(task, seed, length, min_length)


def request_seed(split, index):
    return SPLIT_BASE[split] + index


def workload_line(req, rid):
    """The JSONL object of DESIGN.md "Contracts" (no training-only fields)."""
    return {"id": rid, "prompt": req["prompt"], "max_new_tokens": req["max_new_tokens"],
            "task": req["task"], "answers": req["answers"], "metric": req["metric"]}


def spread(rng, lo, hi, count):
    return [rng.randint(lo, hi) for _ in range(count)]


def make_workload(name, first_index, tasks, lengths):
    """Test-split requests: for each (task, length) pair one request with its own seed."""
    lines = []
    for i, (task, length) in enumerate(zip(tasks, lengths)):
        seed = request_seed("test", first_index + i)
        req = make_request(task, seed, length)
        lines.append(workload_line(req, f"{name}-{task}-{i:04d}"))
    return lines


def standard_workloads(max_prompt):
    """The four committed workloads. max_prompt: the longest prompt in bytes."""
    rng = random.Random(20261123)
    out = {}
    # quick: 8 of each task, 256..1024 bytes
    tasks = [t for t in TASKS for _ in range(8)]
    out["demo-quick"] = make_workload("quick", 0, tasks, spread(rng, 256, 1024, len(tasks)))
    # standard: 84 of each task, lengths spread evenly over 256..max_prompt
    per_task = 84
    tasks, lengths = [], []
    for t in TASKS:
        for k in range(per_task):
            tasks.append(t)
            lo = 256 + (max_prompt - 256) * k // per_task
            hi = 256 + (max_prompt - 256) * (k + 1) // per_task
            lengths.append(rng.randint(lo, hi))
    out["demo-standard"] = make_workload("standard", 100_000, tasks, lengths)
    # long prompt, short answer: retrieval near the longest trained length
    tasks = [["niah_single", "niah_multikey", "qa_question_first"][i % 3] for i in range(96)]
    out["demo-longprompt"] = make_workload("longprompt", 200_000, tasks,
                                           spread(rng, max_prompt - 192, max_prompt, 96))
    # short prompts (every task)
    tasks = [TASKS[i % len(TASKS)] for i in range(192)]
    out["demo-shortprompt"] = make_workload("shortprompt", 300_000, tasks,
                                            spread(rng, 200, 320, 192))
    return out


def write_data(data_dir, max_prompt):
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, lines in standard_workloads(max_prompt).items():
        path = data_dir / f"{name}.jsonl"
        with open(path, "w", encoding="utf-8") as f:
            for obj in lines:
                f.write(json.dumps(obj, ensure_ascii=True) + "\n")
        sizes = [len(o["prompt"]) for o in lines]
        print(f"{path}: {len(lines)} requests, prompt bytes {min(sizes)}..{max(sizes)}")


def check(count=300):
    """Self-check of the generator's invariants (run with --check); raises on a violation."""
    import re
    for i in range(count):
        task, length = TASKS[i % len(TASKS)], 192 + (i * 37) % (MAX_PROMPT_BYTES - 192)
        req = make_request(task, request_seed("validation", i), length)
        p, t = req["prompt"], req["target"]
        assert req == make_request(task, request_seed("validation", i), length), "not deterministic"
        assert p.endswith(ANSWER_CUE) and p.isascii(), f"{task}: bad prompt end or non-ASCII"
        assert len(p) <= max(length, MIN_PROMPT_BYTES) + 80, f"{task}: {len(p)} bytes for {length}"
        if task == "niah_single":  # the filler holds no other number
            assert set(re.findall(r"\d+", p)) == {t}, "niah_single: stray numbers"
        if task == "niah_multikey":
            key = re.search(r"number for (\S+)\?", p).group(1)
            assert p.count(f"number for {key} is") == 1, "niah_multikey: asked key not unique"
            assert f"The special number for {key} is {t}." in p
        if task == "vt":
            value = re.search(r"value (\d+)\.", p).group(1)
            cur, names = value, []
            for line in re.findall(r"VAR (\w+) = (\w+)\.", p):  # follow the chain in order
                if line[1] == cur or line[1] in names:
                    names.append(line[0])
            assert names == req["answers"], f"vt: chain {names} != {req['answers']}"
        if task == "marked_list":
            assert re.findall(r"\*([^*]+)\*", p) == t.split(", ")
        if task == "qa_question_first":
            name = re.match(r"Question: In which city does (\w+) live\?", p).group(1)
            assert f"{name} lives in {t}." in p
        if task == "arith_sum":
            nums = [int(n) for n in re.findall(r"number is (\d+)\.", p)]
            assert t == " + ".join(map(str, nums)) + f" = {sum(nums)}"
    # Deterministic across processes too (string hashing is salted per process).
    import hashlib
    import os
    import subprocess
    digest = hashlib.sha256(json.dumps(standard_workloads(MAX_PROMPT_BYTES)).encode()).hexdigest()
    code = ("import hashlib, json, sys; sys.path.insert(0, sys.argv[1]); import demo_tasks as d; "
            "print(hashlib.sha256(json.dumps(d.standard_workloads(d.MAX_PROMPT_BYTES)).encode())"
            ".hexdigest())")
    for hash_seed in ("1", "2"):
        other = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parent)],
                               capture_output=True, text=True, check=True,
                               env={**os.environ, "PYTHONHASHSEED": hash_seed}).stdout.strip()
        assert other == digest, f"workloads differ under PYTHONHASHSEED={hash_seed}"
    # The splits' generator seeds can never meet (train seeds stay below the validation base).
    assert (SPLIT_BASE["validation"] - 1) * 1000 + max(TASK_SALT.values()) < \
        SPLIT_BASE["validation"] * 1000
    print(f"check: {count} requests ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write-data", action="store_true", help="write data/demo-*.jsonl")
    ap.add_argument("--data-dir", type=Path, default=REPO / "data")
    ap.add_argument("--max-prompt", type=int, default=MAX_PROMPT_BYTES,
                    help="longest prompt in bytes (trained context minus answer room)")
    ap.add_argument("--show", choices=TASKS, help="print one request of this task")
    ap.add_argument("--check", action="store_true", help="self-check the generator's invariants")
    ap.add_argument("--length", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.show:
        req = make_request(args.show, args.seed, args.length)
        print(req["prompt"] + req["target"] + "<eos>")
        print(f"--- {len(req['prompt'])} prompt bytes; answers {req['answers']} ({req['metric']})")
    if args.check:
        check()
    if args.write_data:
        write_data(args.data_dir, args.max_prompt)
    if not (args.show or args.write_data or args.check):
        ap.print_help()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
