"""`tooldistill submit`: send a run to a Ray cluster as a Ray job and follow its logs.

The working directory (this checkout, without virtual environments and run outputs)
travels as the job's `working_dir` runtime environment, so the cluster runs exactly the
code and configs you have here; the cluster's Python environment must have the project's
dependencies (see `ray_cluster.yaml`'s setup commands). The entrypoint is the same
`tooldistill run` a laptop uses.

Secrets never travel with a job: a job's runtime_env (and its entrypoint) is shown to
anyone who can list the cluster's jobs (`ray job list`, the dashboard), so variables that
look like secrets are refused here. Keys belong in the nodes' own environment, set by the
cluster's launch config before `ray start` (every Ray worker inherits it), or in the
nodes' IAM role; see `ray_cluster.yaml` and the README's "Secrets".
"""

from __future__ import annotations

import asyncio
import logging
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from toolkit.secrets import is_secret_name

log = logging.getLogger(__name__)

# Never uploaded: virtual environments, outputs, caches (Ray caps working_dir uploads), and
# local secret files (the package is stored on the cluster, readable by any job there).
EXCLUDES = [
    ".git", ".venv", ".venv-vllm", "runs", "**/__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info",
    ".env", ".env.*", ".envrc", "*.pem",
]
TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}

_URL_CREDENTIALS = re.compile(r"://[^/@\s:]+:[^/@\s]+@")  # scheme://user:password@host
WHERE_SECRETS_GO = (
    "set it on the nodes instead (ray_cluster.yaml's start commands export it before `ray start`, e.g. from "
    "AWS Secrets Manager), or give the nodes an IAM role for cloud credentials; see the README's Secrets section"
)


class SecretInJobError(ValueError):
    """A secret was about to go where everyone who can list the cluster's jobs would read it."""


def refuse_secrets(env_vars: dict[str, str] | None = None, overrides: list[str] | None = None, pip: list[str] | None = None) -> None:
    """Raise `SecretInJobError` (naming the variable, never showing a value) if anything that
    would be listed with the job carries a secret: its environment, its entrypoint's `--set`
    values, its pip requirements (index URLs with tokens)."""
    for name, value in (env_vars or {}).items():
        if is_secret_name(name):
            raise SecretInJobError(f"--env {name}: refused, a job's environment is shown by `ray job list` and the dashboard; {WHERE_SECRETS_GO}")
        if _URL_CREDENTIALS.search(value or ""):
            raise SecretInJobError(f"--env {name}: refused, its value is a URL with a password, shown by `ray job list`; {WHERE_SECRETS_GO}")
    for assignment in overrides or []:
        if _URL_CREDENTIALS.search(assignment):
            key = assignment.partition("=")[0]
            raise SecretInJobError(f"--set {key}: refused, its value is a URL with a password, shown in the job's entrypoint; {WHERE_SECRETS_GO}")
    for requirement in pip or []:
        if _URL_CREDENTIALS.search(requirement):
            raise SecretInJobError(f"a pip requirement carries a URL with a password, shown in the job's runtime_env; {WHERE_SECRETS_GO}")


@dataclass
class SubmittedJob:
    job_id: str
    status: str
    address: str
    output_dir: str | None


def entrypoint(config_path: str, overrides: list[str], stages: list[str], force: list[str]) -> str:
    """The command the job's driver runs, from inside the uploaded working directory."""
    words = ["python", "-m", "cluster.cli", "run", config_path, "--quiet"]
    for assignment in overrides:
        words += ["--set", assignment]
    for stage in stages:
        words += ["--stage", stage]
    for stage in force:
        words += ["--force", stage]
    return shlex.join(words)


def runtime_env(working_dir: str | Path, env_vars: dict[str, str] | None = None, pip: list[str] | None = None) -> dict[str, Any]:
    env: dict[str, Any] = {"working_dir": str(working_dir), "excludes": list(EXCLUDES)}
    if env_vars:
        env["env_vars"] = dict(env_vars)
    if pip:
        env["pip"] = list(pip)
    return env


def config_path_in(working_dir: Path, config_path: str) -> str:
    """The config's path relative to the working directory (it must be inside it to travel)."""
    resolved = Path(config_path).resolve()
    try:
        return str(resolved.relative_to(working_dir.resolve()))
    except ValueError:
        raise ValueError(f"config {config_path} is outside the working directory {working_dir}; copy it into configs/") from None


def submit_run(
    config_path: str,
    address: str,
    *,
    overrides: list[str] | None = None,
    stages: list[str] | None = None,
    force: list[str] | None = None,
    working_dir: str | Path = ".",
    env_vars: dict[str, str] | None = None,
    pip: list[str] | None = None,
    follow: bool = True,
    on_log: Callable[[str], None] | None = None,
    submission_id: str | None = None,
) -> SubmittedJob:
    """Submit `tooldistill run CONFIG` as a Ray job; with `follow`, stream its logs until it ends."""
    from ray.job_submission import JobSubmissionClient

    from cluster.config import load_config
    from cluster.context_check import check_run_context
    from cluster.run_config import RunConfig

    overrides = list(overrides or [])
    refuse_secrets(env_vars, overrides, pip)
    working_dir = Path(working_dir)
    # Validate here, where a mistake costs nothing, rather than on the cluster.
    config = load_config(config_path, RunConfig, overrides)
    for warning in check_run_context(config, stages or None):  # raises ContextLengthError on a misfit
        log.warning("%s", warning)
    if "://" not in (config.output_dir or "") and not Path(config.output_dir or "runs").is_absolute():
        log.warning(
            "output_dir %r is relative: on the cluster it is inside the job's temporary working directory. "
            "Use an object-store URI (s3://...) or a shared path with --set output_dir=...",
            config.output_dir,
        )
    client = JobSubmissionClient(address)
    job_id = _submit_with_retry(
        client,
        entrypoint=entrypoint(config_path_in(working_dir, config_path), overrides, stages or [], force or []),
        runtime_env=runtime_env(working_dir, env_vars, pip),
        submission_id=submission_id,
        metadata={"tool": "tooldistill", "run": config.name},
    )
    log.info("submitted %s to %s", job_id, address)
    status = str(client.get_job_status(job_id).value)
    if follow:
        asyncio.run(_follow(client, job_id, on_log or (lambda line: None)))
        status = _wait_terminal(client, job_id)
    return SubmittedJob(job_id=job_id, status=status, address=address, output_dir=config.output_dir)


def _submit_with_retry(client: Any, *, timeout_s: float = 120.0, **job: Any) -> str:
    """A head that has just started answers 500 "No available agent" until its job agent is up."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return client.submit_job(**job)
        except RuntimeError as exc:
            if "No available agent" not in str(exc) or time.monotonic() > deadline:
                raise
            log.info("the cluster's job agent is not up yet; retrying")
            time.sleep(2)


async def _follow(client: Any, job_id: str, on_log: Callable[[str], None]) -> None:
    async for chunk in client.tail_job_logs(job_id):
        for line in chunk.splitlines():
            on_log(line)


def _wait_terminal(client: Any, job_id: str, timeout_s: float = 60.0) -> str:
    """The log stream closes when the job ends; its final status may land a moment later."""
    import time

    deadline = time.monotonic() + timeout_s
    status = str(client.get_job_status(job_id).value)
    while status not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.5)
        status = str(client.get_job_status(job_id).value)
    return status
