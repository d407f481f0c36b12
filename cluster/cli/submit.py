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
    env: Annotated[list[str] | None, typer.Option("--env", help="KEY=VALUE for the job's environment (e.g. OPENAI_API_KEY).")] = None,
    no_follow: Annotated[bool, typer.Option("--no-follow", help="Return after submitting instead of following the logs.")] = False,
) -> None:
    """Submit `tooldistill run CONFIG` to a Ray cluster as a job, then follow its logs to the end."""
    from cluster.config import ConfigError
    from cluster.submit import submit_run

    env_vars = dict(item.split("=", 1) for item in env or [] if "=" in item)
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
