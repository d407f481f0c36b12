"""Tool workers read model-written text: they never get API keys or cloud credentials."""

from __future__ import annotations

import pytest

from toolkit.sandbox import Sandbox, SandboxConfig
from toolkit.secrets import is_secret_name, without_secrets

FAULTS = "tests.toolkit.fault_tools"


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "HF_TOKEN", "DB_PASSWORD"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "AWS_REGION", "AWS_ENDPOINT_URL", "TOKENIZERS_PARALLELISM", "OMP_NUM_THREADS"])
def test_ordinary_names(name):
    assert not is_secret_name(name)


def test_without_secrets_keeps_the_rest():
    assert without_secrets({"PATH": "/bin", "OPENAI_API_KEY": "sk-x", "AWS_REGION": "eu"}) == {"PATH": "/bin", "AWS_REGION": "eu"}


def test_a_sandbox_worker_cannot_see_the_callers_secrets(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-for-workers")
    monkeypatch.setenv("TOOLDISTILL_PLAIN_SETTING", "visible")
    with Sandbox(SandboxConfig(workers=1, timeout_s=10, tool_modules=[FAULTS])) as sandbox:
        secret = sandbox.call_sync("fault_read_environment", {"name": "OPENAI_API_KEY"})
        plain = sandbox.call_sync("fault_read_environment", {"name": "TOOLDISTILL_PLAIN_SETTING"})
    assert secret == {"result": "<unset>"}
    assert plain == {"result": "visible"}  # the rest of the environment still reaches the worker
