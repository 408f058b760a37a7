# ruff: noqa: E501  (chat templates are data: their long lines are kept as written)
from __future__ import annotations

import struct

import pytest

from pytest_mlsec.artifacts.base import BytesSource
from pytest_mlsec.artifacts.gguf_format import analyze_template, read_gguf_header, scan_gguf
from pytest_mlsec.findings import Severity
from tests.artifacts_formats.builders import GGUF_ARRAY, GGUF_STRING, gguf, gguf_model, rule_ids, run

INJECTION, UNREADABLE = "MLSEC-FMT-075", "MLSEC-FMT-076"

# Benign templates written for these tests in the styles real models ship (not copied from any model).
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + "
    "'\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
LLAMA2 = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' ' + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}"
)
LLAMA3_TOOLS = """{{- bos_token }}
{%- if custom_tools is defined %}{%- set tools = custom_tools %}{%- endif %}
{%- if not tools_in_user_message is defined %}{%- set tools_in_user_message = true %}{%- endif %}
{%- if not date_string is defined %}{%- set date_string = strftime_now("%d %b %Y") %}{%- endif %}
{%- set ns = namespace(system_message="", found=false) %}
{%- if messages[0]['role'] == 'system' %}
    {%- set ns.system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- endif %}
{{- "<|start_header_id|>system<|end_header_id|>\\n\\n" }}
{%- if tools is not none %}{{- "Environment: ipython\\n" }}{%- endif %}
{{- "Cutting Knowledge Date: December 2023\\nToday Date: " + date_string + "\\n\\n" }}
{{- ns.system_message }}
{{- "<|eot_id|>" }}
{%- for message in messages %}
    {%- if message.role == 'ipython' or message.role == 'tool' %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\\n\\n" }}
        {%- if message.content is mapping or message.content is iterable %}{{- message.content | tojson }}
        {%- else %}{{- message.content }}{%- endif %}
    {%- elif 'tool_calls' in message %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '{"name": "' + tool_call.name + '", "parameters": ' + tool_call.arguments | tojson + '}' }}
    {%- else %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}
"""
MISTRAL = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)
GEMMA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\\n' + message['content'] | trim + '<end_of_turn>\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\\n'}}{% endif %}"
)
PHI_STYLE = (
    "{% for message in messages %}{% if message['role'] == 'system' and message['content'] %}"
    "{{'<|system|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'user' %}"
    "{{'<|user|>\\n' + message['content'] + '<|end|>\\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\\n' + message['content'] + '<|end|>\\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% else %}{{ eos_token }}{% endif %}"
)
REASONING_STYLE = """{%- set ns = namespace(is_first=false, is_tool=false, prompt='') -%}
{%- for message in messages -%}{%- if message['role'] == 'system' -%}{%- set ns.prompt = message['content'] -%}{%- endif -%}{%- endfor -%}
{{ bos_token }}{{ ns.prompt }}
{%- for message in messages -%}
  {%- if message['role'] == 'user' -%}{%- set ns.is_tool = false -%}{{ '<|User|>' + message['content'] }}
  {%- elif message['role'] == 'assistant' and message['content'] is not none -%}
    {%- set content = message['content'] -%}
    {%- if '</think>' in content -%}{%- set content = content.split('</think>')[-1] -%}{%- endif -%}
    {{ '<|Assistant|>' + content + '<|end_of_sentence|>' }}
  {%- endif -%}
{%- endfor -%}
{#- A comment mentioning __class__ and os.system is not code -#}
{% if add_generation_prompt and not ns.is_tool %}{{ '<|Assistant|><think>\\n' }}{% endif %}"""
PROSE_SYSTEM_PROMPT = (
    "{{ 'You are a shell assistant. Explain commands like os.system or subprocess.run and python internals '"
    " + 'such as eval or exec, config files and request handling to the user. Never run them.' if false else '' }}"
    "{% for m in messages %}{{ m.role }}: {{ m.content }}\\n{% endfor %}"
)

BENIGN = {
    "chatml": CHATML,
    "llama2": LLAMA2,
    "llama3-tools": LLAMA3_TOOLS,
    "mistral": MISTRAL,
    "gemma": GEMMA,
    "phi": PHI_STYLE,
    "reasoning": REASONING_STYLE,
}

MALICIOUS = {
    "class-mro": "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "cycler-globals": "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "joiner": "{{ joiner.__init__.__globals__['os'].system('touch /tmp/x') }}",
    "lipsum": "{% for m in messages %}{{ m.content }}{% endfor %}{{ lipsum.__globals__['os'].popen('id').read() }}",
    "namespace": "{{ namespace.__init__.__globals__.__builtins__.__import__('os').system('id') }}",
    "attr-filter": "{{ (()|attr('\\x5f\\x5fclass\\x5f\\x5f')) }}",
    "attr-concat": "{{ ()|attr('_'*2 ~ 'class' ~ '_'*2) }}",
    "split-dunder": "{% set a = '__cla' ~ 'ss__' %}{{ ()[a] }}",
    "format-gadget": "{{ ('%c%c'|format(95, 95)) ~ 'class' }}",
    "config": "{{ config.items() }}",
    "request": "{{ request.application.__self__ }}",
    "self-context": "{{ self._TemplateReference__context.cycler }}",
    "range-globals": "{% set x = range.__init__ %}{{ x }}",
    "builtins-word": "{{ messages|map(attribute='content')|list }}{{ builtins }}",
    "tail-of-benign": CHATML + "{{ ''.__class__.__base__.__subclasses__()[104].__init__.__globals__['sys'] }}",
}


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_templates_are_not_flagged(name: str) -> None:
    assert analyze_template(BENIGN[name]) == []
    assert run(scan_gguf, gguf_model(BENIGN[name]), "m.gguf") == []


def test_prose_inside_string_literals_is_not_flagged() -> None:
    assert analyze_template(PROSE_SYSTEM_PROMPT) == []


def test_dunder_names_in_string_literals_do_count() -> None:
    # attr() and subscripts take names as strings, so a literal dunder is reflection, not prose
    assert analyze_template("{{ x[('__glob' ~ 'als__')] }}") != []
    assert analyze_template("{{ foo['__class__'] }}") != []


@pytest.mark.parametrize("name", sorted(MALICIOUS))
def test_malicious_templates_are_flagged(name: str) -> None:
    findings = run(scan_gguf, gguf_model(MALICIOUS[name]), "m.gguf")
    assert rule_ids(findings) == {INJECTION}
    assert findings[0].severity >= Severity.HIGH
    assert findings[0].evidence["snippets"]
    assert findings[0].location.offset is not None


def test_no_template_is_clean() -> None:
    assert run(scan_gguf, gguf_model(None), "m.gguf") == []


def test_named_templates_and_template_arrays_are_checked() -> None:
    data = gguf(
        [
            ("tokenizer.chat_template", GGUF_STRING, CHATML),
            ("tokenizer.chat_template.tool_use", GGUF_STRING, MALICIOUS["cycler-globals"]),
        ]
    )
    findings = run(scan_gguf, data, "m.gguf")
    assert [f.evidence["key"] for f in findings] == ["tokenizer.chat_template.tool_use"]
    arr = gguf([("tokenizer.chat_templates", GGUF_ARRAY, (GGUF_STRING, [CHATML, MALICIOUS["lipsum"]]))])
    assert rule_ids(run(scan_gguf, arr, "m.gguf")) == {INJECTION}


def test_version_2_and_big_endian_headers() -> None:
    assert rule_ids(run(scan_gguf, gguf_model(MALICIOUS["joiner"], version=2), "m.gguf")) == {INJECTION}
    be = b"GGUF" + struct.pack(">IQQ", 3, 0, 1) + struct.pack(">Q", 23) + b"tokenizer.chat_template"
    be += struct.pack(">I", GGUF_STRING) + struct.pack(">Q", 20) + b"{{ lipsum.__doc__ }}"
    assert rule_ids(run(scan_gguf, be, "m.gguf")) == {INJECTION}


def test_header_fields_are_read() -> None:
    header = read_gguf_header(BytesSource(gguf_model(CHATML, tensors=3)))
    assert header.version == 3
    assert header.tensor_count == 3
    assert header.strings["general.architecture"][0] == "llama"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GGUF",
        b"GGUF" + struct.pack("<I", 99) + bytes(16),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1 << 40),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 40),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1) + b"k" + struct.pack("<I", 77),
        gguf_model(CHATML)[:-10],
        gguf_model(None)[:200],  # cut inside the token array (the fast skipping path)
        gguf([("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, ["a"]))])[:-9] + struct.pack("<Q", 1 << 40) + b"a",
        b"NOTG" + bytes(30),
    ],
)
def test_malformed_headers_are_one_finding(data: bytes) -> None:
    findings = run(scan_gguf, data, "m.gguf")
    assert rule_ids(findings) == {UNREADABLE}
    assert len(findings) == 1


def test_attribute_named_like_a_command_is_not_a_call() -> None:
    assert analyze_template("{{ message.system }}{% set system = messages[0] %}{{ system.content }}") == []
    assert analyze_template("{{ x.system('id') }}") != []
