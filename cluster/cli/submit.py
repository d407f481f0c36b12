"""`tooldistill submit`: the same run, sent to a Ray cluster as a job."""

from __future__ import annotations

from typing import Annotated

import typer

from cluster.cli.common import console


def submit(
    config: Annotated[str, typer.Argument(help="Run config (YAML) inside the working directory.")],
    address: Annotated[str, typer.Option("--address", envvar="RAY_JOB_ADDRESS", help="Ray dashboard address, e.g. http://head:8265")],
    set_: Annotated[list[str] | None, typer.Option("--set", help="Override a value, e.g. --set output_dir=s3://bucket/runs/x")] = None,
    stage: Annotated[list[str] | None, typer.Option("--stage", help="Run only these stages.")] = None,
    force: Annotated[list[str] | None, typer.Option("--force", help="Rerun these stages even if complete.")] = None,
    working_dir: Annotated[str, typer.Option(help="Uploaded as the job's working_dir.")] = ".",
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="NAME=VALUE for the job's environment (e.g. AWS_REGION). Not for secrets: `ray job list` "
                     "shows these; API keys are set on the nodes (README: Secrets)."),
    ] = None,
    no_follow: Annotated[bool, typer.Option("--no-follow", help="Return after submitting instead of following the logs.")] = False,
) -> None:
    """Submit `tooldistill run CONFIG` to a Ray cluster as a job, then follow its logs to the end."""
    from cluster.config import ConfigError
    from cluster.submit import refuse_secrets, submit_run

    env_vars: dict[str, str] = {}
    try:
        for item in env or []:
            name, equals, value = item.partition("=")
            refuse_secrets({name: value})  # before anything else, and without ever echoing the value
            if not equals:
                raise ValueError(f"--env expects NAME=VALUE, got {name!r}")
            env_vars[name] = value
        refuse_secrets(overrides=set_)
    except ValueError as exc:
        # One line, however narrow the terminal: the message says what to do instead.
        console.print(str(exc), style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    try:
        job = submit_run(
            config, address, overrides=set_, stages=stage, force=force, working_dir=working_dir, env_vars=env_vars,
            follow=not no_follow, on_log=lambda line: console.print(line, markup=False, highlight=False),
        )
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    console.print(f"job [bold]{job.job_id}[/bold] on {job.address}: {job.status}; outputs: {job.output_dir}")
    raise typer.Exit(0 if job.status in ("SUCCEEDED", "PENDING", "RUNNING") else 1)
