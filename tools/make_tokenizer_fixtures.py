#!/usr/bin/env python3
"""Builds the small tokenizers under tests/fixtures/tokenizers/ and their goldens.

Trains, with HF `tokenizers` (0.20.3, from .venv-tools), a byte-level BPE in three styles
(Llama-3 split regex with ignore_merges; GPT-2 ByteLevel regex with add_prefix_space; SmolLM2
Digits + ByteLevel) and a SentencePiece-like BPE with byte fallback in two styles (Llama-2
normalizer; Metaspace pre-tokenizer with prepend_scheme "first"), and writes the plain byte
tokenizer of the demo model by hand. goldens.json then records, for every tokenizer and test string, the ids and the
decoded text that HF produces: the C++ tests compare against them exactly.

Run from the repository root:  .venv-tools/bin/python tools/make_tokenizer_fixtures.py
(make .venv-tools first with tools/setup-python.sh).
"""
import json
import os
import random
import sys

import tokenizers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
from tokenizers.trainers import BpeTrainer

COMMAND = ".venv-tools/bin/python tools/make_tokenizer_fixtures.py"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "tokenizers")

LLAMA3_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# Training text: English prose, accented Latin, Greek, Cyrillic, CJK, emoji, code and numbers,
# so that merges cover words, digits, whitespace runs and multi-byte characters.
CORPUS = [
    "The key-value cache stores the keys and values of every token that the model has seen.",
    "When the cache is full, a compression policy evicts the entries that received the least "
    "attention, so that more sequences fit in the same memory budget.",
    "Batch-Max compresses during prefill as well as during decode; KV-Compress evicts whole "
    "blocks of a paged layout, and each attention head keeps its own number of tokens.",
    "The scheduler admits a waiting request when the memory it needs is free. It mixes prefill "
    "chunks with decode steps, and it preempts a sequence instead of running out of blocks.",
    "Throughput rose from 1200 tokens per second to 3456 tokens per second at a budget of 512 "
    "tokens; the exact-match score fell by 0.7 points (from 81.25 to 80.55).",
    "I'm sure you'll see that it's faster. We've measured it twice, they'd agree, and it isn't luck.",
    "She said: \"Don't evict the sink tokens!\" He replied, 'We won't.'",
    "Café au lait, crème brûlée, naïve façade, déjà vu, résumé, piñata, jalapeño, Ångström.",
    "Müller und Schröder fahren über die Brücke nach Köln; Straße, Größe, schön, grün.",
    "El niño comió paella en la playa. ¿Dónde está la estación? ¡Qué día tan bonito!",
    "Η γρήγορη καφέ αλεπού πηδάει πάνω από τον τεμπέλη σκύλο.",
    "Быстрая коричневая лиса прыгает через ленивую собаку.",
    "東京は日本の首都です。京都には古いお寺がたくさんあります。",
    "我们在北京学习中文。今天天气很好，我们去公园散步吧。",
    "서울은 한국의 수도입니다. 안녕하세요!",
    "Emoji: 😀 😃 🎉 🚀 👍 ❤️ — the party 🎉🎉 starts at 8 pm.",
    "def evict(cache, budget):\n    while len(cache) > budget:\n        cache.pop(0)\n    return cache\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += x[i] * y[i];\n}\n",
    "    indented line\n\n\nthree newlines above\ttab\tseparated\tvalues\r\nwindows line end",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 42 100 2024 65536 3.14159 2.71828 1e-5 0x1F",
    "URLs like https://example.org/path?query=1&x=2 and e-mails like someone@example.com.",
    "The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG.",
    "Attention is all you need; memory is what you lack. Sequences, heads, layers, blocks.",
]

# Strings whose encoding the goldens record (each tokenizer's specials are just text to others).
CASES = [
    "",
    "a",
    "Hello, world!",
    "The key-value cache stores keys.",
    "  two leading spaces",
    " one leading space",
    "trailing spaces   ",
    "   ",
    "\n",
    "tabs\tand\nnewlines\r\n\nend",
    "mixed   whitespace \t\t runs\n\n\n  end",
    "digits 1234567890 and 3.14159 and 007",
    "I'm sure you'll see THEY'RE fine, it's OK",
    "Café naïve résumé — déjà vu Ångström",
    "Müller Straße Größe",
    "日本語のテキスト、中文字符，한국어",
    "emoji 😀🎉👍🏽 family 👨\u200d👩\u200d👧 flag 🇫🇷",
    "combining e\u0301 vs \u00e9",
    "Greek Ελληνικά, Russian Русский, Arabic مرحبا بالعالم, Hindi नमस्ते",
    "rare chars: ∑∫√∞ ≤≥ ¶§ ©®™ ½¼",
    "code:\n    if x > 0:\n\treturn x * 2\n",
    "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n",
    "<s>text</s> inside <s> again",
    "<bos>bytes<eos><pad> and <sep>",
    "before <mask> after and <mask>end",
    "a [note] here and[note]there",
    "<tool> call <tool>",
    "<|endoftext|>start and end<|endoftext|>",
    "x" * 300,
    " ".join(CORPUS[:8]),
]

# Building blocks of the seeded random strings appended to CASES: they mix specials of every
# fixture, whitespace kinds, contractions, digits, scripts, emoji sequences and stray marks.
RANDOM_PIECES = [
    "the", "The", "cache", "KV", "I'm", "THEY'RE", "we'll", "'s", "'S", "don't", "a", "x",
    " ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\u00a0", "\u3000", "\u2028",
    "0", "12", "123", "1234567", "3.14", "½", "²", "٣", "१२",
    ",", ".", "!?", "--", "...", "(", ")", "\"", "'", "`", "_", "@#", "<", ">", "<|", "|>",
    "é", "e\u0301", "naïve", "Ångström", "ß", "İ", "ǅ", "Ελληνικά", "Русский", "مرحبا",
    "日本語", "中文", "한국어", "ｆｕｌｌ", "😀", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "\u200b", "\ufeff",
    "<s>", "</s>", "<unk>", "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>",
    "<mask>", " <mask>", "[note]", " [note]", "<tool>", "<bos>", "<eos>", "<pad>", "<sep>", "<0x41>",
    "▁", "▁▁", "Ġ",
]


def random_cases(count, seed=2024):
    rng = random.Random(seed)

    def any_char():
        ranges = [(0x20, 0x7E), (0xA0, 0x2FFF), (0x3000, 0xD7FF), (0xE000, 0xFFFD), (0x10000, 0x1FFFF)]
        low, high = rng.choice(ranges)
        return chr(rng.randint(low, high))

    return ["".join(rng.choice(RANDOM_PIECES) if rng.random() < 0.8 else any_char()
                    for _ in range(rng.randint(1, 14))) for _ in range(count)]


CASES += random_cases(40)


def trained_bytelevel(pre_tokenizer, vocab_size, specials):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizer
    tok.decoder = decoders.ByteLevel()
    trainer = BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer=trainer)
    return tok


def make_bytelevel_llama3():
    """Llama-3 style: Split(regex) + ByteLevel(use_regex=False), ignore_merges, BOS template."""
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
    tok = trained_bytelevel(pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ]), 1000, specials)
    tok.add_tokens([tokenizers.AddedToken("<tool>", special=False, normalized=False)])
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                      pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                      special_tokens=[("<|begin_of_text|>", bos)]),
    ])
    spec = json.loads(tok.to_str())
    spec["model"]["ignore_merges"] = True
    config = {"bos_token": "<|begin_of_text|>", "eos_token": "<|im_end|>",
              "tokenizer_class": "PreTrainedTokenizerFast"}
    generation = {"bos_token_id": bos,
                  "eos_token_id": [tok.token_to_id("<|end_of_text|>"), tok.token_to_id("<|im_end|>")]}
    return spec, {"tokenizer_config.json": config, "generation_config.json": generation}


def make_bytelevel_gpt2():
    """GPT-2 style: ByteLevel with its own regex and add_prefix_space, merges as "a b"."""
    specials = ["<|endoftext|>", "<mask>"]
    tok = trained_bytelevel(pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=True), 900,
                            specials)
    spec = json.loads(tok.to_str())
    spec["model"]["merges"] = [" ".join(pair) for pair in spec["model"]["merges"]]
    for t in spec["added_tokens"]:
        if t["content"] == "<mask>":  # RoBERTa's mask token eats the spaces on its left
            t["lstrip"] = True
    spec["post_processor"] = {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                              "use_regex": True}
    config = {"add_bos_token": False,
              "bos_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False,
                            "normalized": True, "rstrip": False, "single_word": False},
              "eos_token": "<|endoftext|>"}
    return spec, {"tokenizer_config.json": config}


def make_bytelevel_smollm2():
    """SmolLM2 style: Digits(individual) then ByteLevel with the GPT-2 regex, no BOS by default."""
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = trained_bytelevel(pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
    ]), 800, specials)
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    config = {"add_prefix_space": False, "bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}
    model_config = {"bos_token_id": 1, "eos_token_id": 2}
    return json.loads(tok.to_str()), {"tokenizer_config.json": config, "config.json": model_config}


def byte_vocab():
    return {f"<0x{b:02X}>": b for b in range(256)}


def frequent_chars(count):
    """The `count` most frequent characters of CORPUS as Metaspace sees it, ties by code point.

    tokenizers' own limit_alphabet breaks frequency ties differently from run to run; pinning
    the alphabet keeps the fixtures reproducible."""
    freq = {}
    for text in CORPUS:
        for ch in "▁" + text.replace(" ", "▁"):
            freq[ch] = freq.get(ch, 0) + 1
    return sorted(freq, key=lambda ch: (-freq[ch], ch))[:count]


def trained_metaspace(vocab_size, alphabet):
    """Trains merges on Metaspace words; returns vocab (specials, 256 bytes, pieces) and merges."""
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    # Characters of initial_alphabet rank above every other, so limit_alphabet keeps exactly them.
    chars = frequent_chars(alphabet)
    trainer = BpeTrainer(vocab_size=vocab_size - 256, special_tokens=specials, show_progress=False,
                         initial_alphabet=chars, limit_alphabet=len(chars))
    tok.train_from_iterator(CORPUS, trainer=trainer)
    trained = json.loads(tok.to_str())["model"]
    vocab = {s: i for i, s in enumerate(specials)}
    for token, i in byte_vocab().items():
        vocab[token] = len(specials) + i
    for token, _ in sorted(trained["vocab"].items(), key=lambda kv: kv[1]):
        if token not in vocab:
            vocab[token] = len(vocab)
    return vocab, trained["merges"]


def sentencepiece_like(vocab, merges, normalizer, pre_tokenizer, decoder, added):
    return {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added,
        "normalizer": normalizer, "pre_tokenizer": pre_tokenizer,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<s>", "type_id": 1}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": decoder,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>",
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }


def added(id_, content, special=True, normalized=False, lstrip=False, rstrip=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": rstrip,
            "normalized": normalized, "special": special}


def make_metaspace_llama2():
    """Llama-2 style: Prepend/Replace normalizer, no pre-tokenizer, byte fallback, merges "a b"."""
    vocab, merges = trained_metaspace(500, 70)
    note = len(vocab)
    vocab_with_note = dict(vocab)
    vocab_with_note["[note]"] = note
    spec = sentencepiece_like(
        vocab_with_note, [" ".join(m) for m in merges],
        {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        None,
        {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>"),
         added(note, "[note]", special=False, normalized=True)])
    config = {"add_bos_token": True, "add_eos_token": False, "bos_token": "<s>", "eos_token": "</s>",
              "unk_token": "<unk>", "legacy": True}
    return spec, {"tokenizer_config.json": config}


def make_metaspace_first():
    """Newer Mistral style: Metaspace pre-tokenizer, prepend_scheme "first", pair merges."""
    vocab, merges = trained_metaspace(520, 90)
    spec = sentencepiece_like(
        vocab, merges, None,
        {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
        {"type": "Sequence", "decoders": [
            {"type": "ByteFallback"},
            {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}]},
        [added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")])
    return spec, {}  # no tokenizer_config.json: BOS comes from the template alone


def make_byte():
    """The demo model's byte tokenizer: one id per byte, specials from 256 (see byte_tokenizer.h)."""
    specials = ["<bos>", "<eos>", "<pad>", "<sep>"]
    spec = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added(256 + i, s) for i, s in enumerate(specials)],
        "normalizer": None, "pre_tokenizer": None,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                       {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                     {"Sequence": {"id": "A", "type_id": 0}},
                     {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<bos>": {"id": "<bos>", "ids": [256], "tokens": ["<bos>"]}}},
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": True, "ignore_merges": False,
                  "vocab": byte_vocab(), "merges": []},
    }
    return spec, {}


def byte_ids(tok, data):
    return [tok.token_to_id(f"<0x{b:02X}>") for b in data]


def decode_cases(tok):
    """Id lists that encode() cannot produce: broken UTF-8, specials, unknown ids."""
    cases = []
    if tok.token_to_id("<0xE6>") is not None:
        cases.append(byte_ids(tok, "日".encode()))                     # complete character
        cases.append(byte_ids(tok, "日".encode()[:2]))                 # truncated character
        cases.append(byte_ids(tok, b"ab\xffcd"))                        # one bad byte in a run
        cases.append(byte_ids(tok, b"\xf0\x9f") + byte_ids(tok, b"!"))  # truncated emoji then '!'
    ids = tok.encode("Hello world").ids
    special = sorted(i for i, t in tok.get_added_tokens_decoder().items() if t.special)
    cases.append(special[:1] + ids + special[-1:])
    cases.append(ids + [tok.get_vocab_size(with_added_tokens=True) + 5])  # unknown id is skipped
    return cases


def goldens_for(tok):
    out = {"cases": [], "decode_cases": []}
    for text in CASES:
        plain = tok.encode(text, add_special_tokens=False).ids
        with_specials = tok.encode(text, add_special_tokens=True).ids
        out["cases"].append({
            "text": text, "ids": plain, "ids_with_specials": with_specials,
            "decoded": tok.decode(plain, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(plain, skip_special_tokens=True)})
    for ids in decode_cases(tok):
        out["decode_cases"].append({
            "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=False),
            "decoded_skip_special": tok.decode(ids, skip_special_tokens=True)})
    one = tok.encode("x", add_special_tokens=False).ids
    out["template_adds_bos"] = len(tok.encode("x", add_special_tokens=True).ids) > len(one)
    out["vocab_size"] = tok.get_vocab_size(with_added_tokens=True)
    return out


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")


def write_goldens(path, goldens):
    """One case per line: the file stays small and its diffs readable."""
    def line(value):
        return json.dumps(value, ensure_ascii=False)
    parts = []
    for name, g in goldens["tokenizers"].items():
        cases = ",\n      ".join(line(c) for c in g["cases"])
        decode = ",\n      ".join(line(c) for c in g["decode_cases"])
        parts.append(f'    {line(name)}: {{\n      "template_adds_bos": {line(g["template_adds_bos"])},'
                     f'\n      "vocab_size": {g["vocab_size"]},'
                     f'\n      "cases": [\n      {cases}],\n      "decode_cases": [\n      {decode}]}}')
    text = (f'{{\n  "command": {line(goldens["command"])},\n'
            f'  "tokenizers_version": {line(goldens["tokenizers_version"])},\n'
            f'  "tokenizers": {{\n' + ",\n".join(parts) + "}\n}\n")
    assert json.loads(text) == goldens
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main():
    if tokenizers.__version__ != "0.20.3":
        sys.exit(f"expected tokenizers 0.20.3 (tools/requirements.txt), found {tokenizers.__version__}")
    makers = {"bytelevel_llama3": make_bytelevel_llama3, "bytelevel_gpt2": make_bytelevel_gpt2,
              "bytelevel_smollm2": make_bytelevel_smollm2, "metaspace_llama2": make_metaspace_llama2, "metaspace_first": make_metaspace_first,
              "byte": make_byte}
    goldens = {"command": COMMAND, "tokenizers_version": tokenizers.__version__, "tokenizers": {}}
    for name, make in makers.items():
        spec, side_files = make()
        folder = os.path.join(OUT, name)
        os.makedirs(folder, exist_ok=True)
        for old in os.listdir(folder):
            os.remove(os.path.join(folder, old))
        write_json(os.path.join(folder, "tokenizer.json"), spec)
        for file_name, value in side_files.items():
            write_json(os.path.join(folder, file_name), value)
        # Goldens come from HF reading the file back, exactly as the C++ loader will.
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        goldens["tokenizers"][name] = goldens_for(tok)
        print(f"{name}: vocab {tok.get_vocab_size(with_added_tokens=True)}")
    write_goldens(os.path.join(OUT, "goldens.json"), goldens)


if __name__ == "__main__":
    main()
