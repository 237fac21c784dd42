#!/usr/bin/env python3
"""Chat-template goldens (tests/fixtures/chat_templates/goldens.json) rendered by jinja2.

    .venv-tools/bin/python tools/make_chat_template_goldens.py

The Jinja sources of the families kvwb recognises (as their models publish them in
tokenizer_config.json / GGUF tokenizer.chat_template), rendered for a set of conversations with
the environment transformers' apply_chat_template uses (ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks, loopcontrols, raise_exception). A conversation the template rejects
is stored with its error instead of a rendering. kvwb's C++ renderer must reproduce every
rendering (tests/tokenizer/chat_template_test.cpp).
"""
import json
from pathlib import Path

from jinja2.exceptions import TemplateError
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "chat_templates" / "goldens.json"

TEMPLATES = {
    # SmolLM2-Instruct (the GGUF's tokenizer.chat_template): ChatML with a default system message.
    "smollm2": ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
                "<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
                "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
                "{% endif %}"),
    # Qwen2-Instruct: ChatML with another default system message, newlines written as escapes.
    "qwen2": ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
              "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
              "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
              "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"),
    # Plain ChatML without a default system message.
    "chatml": ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + "
               "'<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
               "{% endif %}"),
    # Meta-Llama-3-Instruct.
    "llama3": ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
               "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
               "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
               "{{ content }}{% endfor %}{% if add_generation_prompt %}"
               "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"),
    # Llama-2-chat.
    "llama2": ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
               "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
               "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
               "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
               "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
               "{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + "
               "system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}"
               "{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
               "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
               "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"),
    # Mistral-7B-Instruct-v0.1.
    "mistral": ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != "
                "(loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate "
                "user/assistant/user/assistant/...') }}{% endif %}{% if message['role'] == 'user' %}"
                "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
                "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles "
                "are supported!') }}{% endif %}{% endfor %}"),
}
TOKENS = {"smollm2": ("<|im_start|>", "<|im_end|>"), "qwen2": ("", "<|im_end|>"), "chatml": ("", "<|im_end|>"),
          "llama3": ("<|begin_of_text|>", "<|eot_id|>"), "llama2": ("<s>", "</s>"), "mistral": ("<s>", "</s>")}

CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "  Hi there!  \n"}],
    [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": " Red. "},
     {"role": "user", "content": "Another?"}],
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "One\n\ntwo"},
     {"role": "assistant", "content": "Three"}, {"role": "user", "content": "Four — ünïcødé 🚀"}],
    [{"role": "assistant", "content": "I speak first."}],
]


def raise_exception(message):
    raise TemplateError(message)


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    out = {"made_by": "tools/make_chat_template_goldens.py", "templates": {}}
    for name, source in TEMPLATES.items():
        bos, eos = TOKENS[name]
        cases = []
        for messages in CONVERSATIONS:
            case = {"messages": messages}
            try:
                case["rendered"] = env.from_string(source).render(
                    messages=messages, add_generation_prompt=True, bos_token=bos, eos_token=eos)
            except TemplateError as e:
                case["error"] = str(e)
            cases.append(case)
        out["templates"][name] = {"source": source, "bos": bos, "eos": eos, "cases": cases}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
