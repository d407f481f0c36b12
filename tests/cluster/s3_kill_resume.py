"""A whole run on a two-node cluster with its run folder in an S3 bucket, killed twice.

    python tests/cluster/s3_kill_resume.py RESULT.json RUN_URI ROOT

The S3 server and the standard AWS environment (AWS_ENDPOINT_URL, keys, region) come from
the caller; the cluster's nodes inherit that environment, as nodes on a cloud inherit
their instance role, and nothing else tells any stage where the bucket is.

1. `tooldistill submit` the run; once generation has written its first parts, stop the job.
2. Submit again; once training has stored a checkpoint in the bucket, stop the job.
3. Submit again and let it finish.
RESULT.json records each step's return code, what was in the bucket at each kill, the
files each job left in its working directory, and what the state API saw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.fs as pafs

sys.path.insert(0, str(Path(__file__).resolve().parent))
from two_node_cluster import HEAD_NODE_TMP, SECOND_NODE_TMP, placement, two_nodes

CONFIG = "tests/cluster/s3_run.yaml"


def keys(fs: pafs.FileSystem, base: str) -> list[str]:
    infos = fs.get_file_info(pafs.FileSelector(base, recursive=True, allow_not_found=True))
    return sorted(i.path[len(base) + 1 :] for i in infos if i.type == pafs.FileType.File)


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def wait_for(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        time.sleep(0.5)


def stop_running_job(dashboard: str) -> str:
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(dashboard)
    running = [j for j in client.list_jobs() if j.status == JobStatus.RUNNING]
    assert len(running) == 1, [(j.submission_id, j.status) for j in client.list_jobs()]
    job = running[0].submission_id
    client.stop_job(job)
    wait_for(lambda: client.get_job_status(job) in (JobStatus.STOPPED, JobStatus.FAILED), 120, f"job {job} to stop")
    return job


def working_dir_outputs() -> list[str]:
    """Files under the jobs' unpacked working directories that are outputs (not code, not caches)."""
    found = []
    for tmp in (HEAD_NODE_TMP, SECOND_NODE_TMP):
        for root, dirs, files in os.walk(tmp):
            if "working_dir_files" not in root:
                continue
            dirs[:] = [d for d in dirs if d not in ("__pycache__", ".cache", ".pytest_cache")]
            for name in files:
                path = os.path.join(root, name)
                if name.endswith((".parquet", ".safetensors", ".pt", ".json", ".md", ".png", ".jsonl")) or "s3:" in path:
                    relative = path.split("working_dir_files", 1)[1]
                    # the checkout's own files (configs, test data) were uploaded, not written
                    if not os.path.exists(os.path.join(sys.argv[3], relative.split("/", 2)[-1])):
                        found.append(relative)
    return sorted(found)


def main() -> int:
    result_path, run_uri, root = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    fs, base = pafs.FileSystem.from_uri(run_uri)
    tooldistill = str(Path(sys.executable).with_name("tooldistill"))
    result: dict = {"steps": []}
    # The jobs' entrypoints run `python` from the nodes' PATH, as on a real cluster where the
    # setup commands put the project's environment first.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    with two_nodes() as (dashboard, gcs):
        command = [tooldistill, "submit", CONFIG, "--address", dashboard, "--working-dir", root,
                   "--set", f"output_dir={run_uri}", "--env", "RAY_AUTH_MODE=disabled"]
        env = {**os.environ, "RAY_ADDRESS": gcs}

        def submit_and_kill(when, what: str) -> None:
            say(f"submitting; will stop the job during {what}")
            process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            try:
                wait_for(lambda: when(keys(fs, base)) or process.poll() is not None, 900, what)
                if process.poll() is not None:
                    raise RuntimeError(f"the job ended before {what} could be stopped:\n{process.stdout.read()[-4000:]}")
                say(f"stopping the job during {what}")
                at_kill = keys(fs, base)
                job = stop_running_job(dashboard)
                output, _ = process.communicate(timeout=120)
            finally:
                if process.poll() is None:
                    process.kill()
            result["steps"].append({"killed_during": what, "job": job, "returncode": process.returncode,
                                    "keys_at_kill": at_kill, "keys_after": keys(fs, base), "output": output[-6000:]})

        submit_and_kill(lambda ks: any(k.startswith("generate/traces/") and k.endswith(".parquet") for k in ks),
                        "generation")
        def checkpoint_registered(ks: list[str]) -> bool:
            """Ray Train recorded a checkpoint in its snapshot in the bucket (uploaded whole, so resumable)."""
            snapshot = next((k for k in ks if k.startswith("train/checkpoints/") and k.endswith("checkpoint_manager_snapshot.json")), None)
            if snapshot is None:
                return False
            try:
                state = json.loads(fs.open_input_stream(f"{base}/{snapshot}").read())
                return int(state["latest_checkpoint_result"]["metrics"]["step"]) >= 2
            except (OSError, ValueError, TypeError, KeyError):
                return False

        submit_and_kill(checkpoint_registered, "training")
        say("submitting; letting it finish")
        finished = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=1500)
        say(f"finished with exit code {finished.returncode}")
        result["final"] = {"returncode": finished.returncode, "stdout": finished.stdout[-12000:],
                           "stderr": finished.stderr[-6000:], "keys": keys(fs, base)}
        result.update(placement(dashboard))
        result["working_dir_outputs"] = working_dir_outputs()
    with open(result_path, "w") as handle:
        json.dump(result, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
