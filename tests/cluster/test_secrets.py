"""Secrets stay secret: `tooldistill submit` refuses them in a job's environment, and a key
set in the node's environment (where `ray_cluster.yaml`'s start commands put it) reaches
the teacher without showing in the job list, the job's info, its logs or the state API."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

from cluster.cli import app
from cluster.submit import is_secret_name, refuse_secrets, submit_run
from pipeline.teachers.openai import OpenAITeacherConfig
from pipeline.teachers.symbolic import SymbolicTeacher
from tests.pipeline.chat_server import ChatCompletionsServer

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# The variable the openai teacher reads its key from, the one ray_cluster.yaml sets on the nodes.
KEY_ENV = OpenAITeacherConfig.model_fields["api_key_env"].default
assert KEY_ENV == "OPENAI_API_KEY"


def fresh_secret() -> str:
    """A value that appears nowhere unless it leaked."""
    return f"sk-test-{uuid.uuid4().hex}"


# ---------------------------------------------------------------------------- refused


@pytest.mark.parametrize("name", [
    "OPENAI_API_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID", "HF_TOKEN", "WANDB_API_KEY",
    "GITHUB_TOKEN", "DB_PASSWORD", "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_STORAGE_CONNECTION_STRING", "openai_api_key",
])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["AWS_REGION", "AWS_ENDPOINT_URL", "AWS_PROFILE", "RAY_AUTH_MODE", "TOKENIZERS_PARALLELISM", "HF_HOME"])
def test_ordinary_names(name):
    assert not is_secret_name(name)
    refuse_secrets({name: "value"})


@pytest.mark.parametrize("assignment", [f"{KEY_ENV}={{secret}}", "HF_TOKEN={secret}", "DATABASE_URL=postgres://me:{secret}@db/x"])
def test_submit_refuses_a_secret_in_the_job_environment(assignment):
    secret = fresh_secret()
    # An address nothing listens on: the refusal comes before any contact with a cluster.
    result = CliRunner().invoke(app, ["submit", "tests/cluster/tiny_run.yaml", "--address", "http://127.0.0.1:9",
                                      "--env", "AWS_REGION=us-west-2", "--env", assignment.format(secret=secret)])
    assert result.exit_code == 2, result.output
    assert secret not in result.output
    name = assignment.partition("=")[0]
    assert result.output.strip().count("\n") == 0, result.output  # one line
    assert f"--env {name}: refused" in result.output and "set it on the nodes" in result.output


def test_submit_refuses_a_password_in_an_override_and_the_library_refuses_too():
    secret = fresh_secret()
    result = CliRunner().invoke(app, ["submit", "tests/cluster/tiny_run.yaml", "--address", "http://127.0.0.1:9",
                                      "--set", f"generate.teacher.options.base_url=https://me:{secret}@llm.example/v1"])
    assert result.exit_code == 2 and secret not in result.output, result.output
    with pytest.raises(ValueError, match="--env HF_TOKEN: refused") as refused:
        submit_run("tests/cluster/tiny_run.yaml", "http://127.0.0.1:9", env_vars={"HF_TOKEN": secret})
    assert secret not in str(refused.value)


# ---------------------------------------------------------------- the supported way


class RecordingServer(ChatCompletionsServer):
    """The symbolic teacher behind a real chat-completions endpoint that records each
    request's Authorization header (the way to see that the job's teacher had the key)."""

    def __init__(self) -> None:
        super().__init__(SymbolicTeacher(), model_name="symbolic")
        self.authorizations: list[str | None] = []

    async def _chat(self, request):
        self.authorizations.append(request.headers.get("Authorization"))
        return await super()._chat(request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_head(temp_dir: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`ray start --head --block` with the job server, as a launch config runs it, with its own
    temp folder and ports (other Ray instances on this machine must not see or collide with it)."""
    dashboard_port = free_port()
    ports = {flag: free_port() for flag in ("--port", "--ray-client-server-port", "--dashboard-agent-listen-port",
                                            "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port")}
    command = [str(BIN / "ray"), "start", "--head", "--block", "--temp-dir", temp_dir, "--num-cpus", "2",
               "--object-store-memory", str(200 * 1024 * 1024), "--include-dashboard", "true",
               "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard_port), "--disable-usage-stats",
               *(part for flag, port in ports.items() for part in (flag, str(port)))]
    head = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    dashboard = f"http://127.0.0.1:{dashboard_port}"
    deadline = time.monotonic() + 180
    while True:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with {head.returncode}")
        try:
            with urllib.request.urlopen(f"{dashboard}/api/version", timeout=5) as response:
                if response.status == 200:
                    return head, dashboard
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def node_processes(temp_dir: str, dashboard: str | None) -> list[psutil.Process]:
    """The node's processes: its daemons (their command lines name its temp folder) and its live workers."""
    pids = {p.pid for p in psutil.process_iter(["cmdline"]) if temp_dir in " ".join(p.info["cmdline"] or [])}
    if dashboard:
        try:
            workers = json.loads(http_json(f"{dashboard}/api/v0/workers?detail=1&limit=1000"))["data"]["result"]["result"]
            pids |= {int(w["pid"]) for w in workers if w.get("is_alive") and w.get("pid")}
        except (OSError, ValueError, KeyError, TypeError):
            pass
    processes = []
    for pid in pids - {os.getpid()}:
        with contextlib.suppress(psutil.NoSuchProcess):
            processes.append(psutil.Process(pid))  # remembers its start time: a reused pid is not it
    return processes


def running(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def stop_head(head: subprocess.Popen, processes: list[psutil.Process]) -> list[int]:
    """SIGTERM makes `ray start --block` kill every process of its node; whatever is left after
    60 s is killed. Returns the pids that had to be killed (none, when Ray cleans up)."""
    if head.poll() is None:
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait(timeout=30)
    deadline = time.monotonic() + 60
    while running(processes) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = running(processes)
    for process in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()  # psutil refuses if the pid now belongs to another process
    return [p.pid for p in left]


def http_json(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8", errors="replace")


def places_showing(value: str, dashboard: str, temp_dir: str) -> list[str]:
    """Everywhere a user of the cluster can look that shows `value`: `ray job list`, the jobs'
    info (as JSON), their logs, the dashboard's job and state APIs, and the node's log files."""
    from ray.job_submission import JobSubmissionClient

    listed = subprocess.run([str(BIN / "ray"), "job", "list", "--address", dashboard],
                            env={**os.environ, "RAY_AUTH_MODE": "disabled"}, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    client = JobSubmissionClient(dashboard)
    jobs = client.list_jobs()
    seen = {
        "ray job list": listed.stdout + listed.stderr,
        "list_jobs": json.dumps([job.model_dump() for job in jobs], default=str),
        **{f"get_job_info {job.submission_id}": json.dumps(client.get_job_info(job.submission_id).model_dump(), default=str)
           for job in jobs},
        **{f"get_job_logs {job.submission_id}": client.get_job_logs(job.submission_id) for job in jobs},
        **{f"GET {path}": http_json(f"{dashboard}{path}") for path in (
            "/api/jobs/", "/api/v0/actors?detail=1&limit=1000", "/api/v0/workers?detail=1&limit=1000",
            "/api/v0/tasks?detail=1&limit=1000", "/api/v0/nodes?detail=1", "/nodes?view=summary")},
    }
    places = [where for where, text in seen.items() if value in text]
    logs = Path(temp_dir, "session_latest", "logs")  # driver, workers, agents, raylet, dashboard
    return places + [str(p) for p in sorted(logs.rglob("*")) if p.is_file() and value.encode() in p.read_bytes()]


@pytest.mark.slow
def test_a_key_in_the_nodes_environment_reaches_the_teacher_and_shows_nowhere(tmp_path):
    from ray.job_submission import JobSubmissionClient

    secret = fresh_secret()
    out = tmp_path / "run"
    base = {k: v for k, v in os.environ.items() if k not in (KEY_ENV, "RAY_ADDRESS", "RAY_JOB_ADDRESS")}
    base.update(RAY_AUTH_MODE="disabled", PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # The node's environment, as the launch config's start command sets it before `ray start`;
    # the laptop that submits (and so the job's runtime_env) never has the key.
    node_env = {**base, KEY_ENV: secret, "RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S": "0"}
    temp_dir = tempfile.mkdtemp(prefix="ray-secrets-", dir="/tmp")  # short: Ray's socket paths are bounded
    head = dashboard = None
    try:
        with RecordingServer() as server:
            head, dashboard = start_head(temp_dir, node_env)
            teacher = f"{{kind: openai, options: {{base_url: '{server.base_url}', model: symbolic, max_retries: 2}}}}"
            submitted = subprocess.run(
                [str(BIN / "tooldistill"), "submit", "tests/cluster/tiny_run.yaml", "--address", dashboard, "--working-dir", str(ROOT),
                 "--set", f"output_dir={out}", "--set", "stages=[generate]", "--set", f"generate.teacher={teacher}",
                 "--set", "generate.problems.count=2", "--set", "generate.clean={decontaminate: false}",
                 "--env", "RAY_AUTH_MODE=disabled"],
                cwd=ROOT, env=base, capture_output=True, text=True, timeout=600,
            )
            authorizations = list(server.authorizations)

        # The job ran, and its teacher (in a solver actor the node started) sent the node's key.
        assert submitted.returncode == 0, submitted.stdout[-4000:] + submitted.stderr[-4000:]
        assert "SUCCEEDED" in submitted.stdout
        assert authorizations and set(authorizations) == {f"Bearer {secret}"}, set(authorizations)
        assert list((out / "generate" / "traces").glob("*.parquet"))

        # ...and the key shows nowhere a user of the cluster can look.
        assert secret not in submitted.stdout + submitted.stderr
        assert places_showing(secret, dashboard, temp_dir) == []

        # The control: a value carried the old way, in a job's runtime_env, is found by the same checks.
        carried = fresh_secret()
        client = JobSubmissionClient(dashboard)
        control = client.submit_job(entrypoint="python -c pass", runtime_env={"env_vars": {"CONTROL_VALUE": carried}})
        deadline = time.monotonic() + 120
        while str(client.get_job_status(control).value) not in ("SUCCEEDED", "FAILED", "STOPPED") and time.monotonic() < deadline:
            time.sleep(1)
        found = places_showing(carried, dashboard, temp_dir)
        assert {"ray job list", "list_jobs", f"get_job_info {control}", "GET /api/jobs/"} <= set(found), found
    finally:
        left = stop_head(head, node_processes(temp_dir, dashboard)) if head is not None else []
        shutil.rmtree(temp_dir, ignore_errors=True)
    assert not left, left  # every process of the test's node ended with it
