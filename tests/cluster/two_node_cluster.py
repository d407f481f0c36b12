"""A real two-node Ray cluster on this machine, for the multi-node tests.

Run as a script (the pytest process already hosts a Ray driver of its own, and a second
cluster's global state must not mix with it):

    python tests/cluster/two_node_cluster.py RESULT.json -- tooldistill submit CONFIG --address {dashboard} ...

It starts a head node (with the dashboard and job server) and a second node, each with
its own CPUs and a custom resource naming it, runs the command with `{dashboard}` and
`{gcs}` replaced by the cluster's addresses, then records in RESULT.json the command's
exit code and, from the state API, the node every actor ran on. The cluster is shut down
whatever happens.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys

# A node of its own keeps its runtime environments (unpacked working_dir packages) in its
# own folder, as on separate machines: sharing one would let the second node's agent
# replace the package directory that is the job driver's working directory.
HEAD_NODE_TMP = "/tmp/ray-two-node"
SECOND_NODE_TMP = "/tmp/ray-two-node-second"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def own_ports() -> dict[str, int]:
    """Both nodes share one IP address, so each needs its own agent ports (the defaults collide)."""
    return {name: free_port() for name in ("dashboard_agent_listen_port", "metrics_agent_port", "metrics_export_port", "runtime_env_agent_port")}


@contextlib.contextmanager
def two_nodes():
    """A head (dashboard and job server) and a second node; yields (dashboard URL, GCS address)."""
    os.environ["RAY_AUTH_MODE"] = "disabled"
    # The head records its address in <RAY_TMPDIR>/ray_current_cluster; a private folder keeps
    # other Ray instances on this machine (the test session's) from ever finding this cluster.
    os.environ["RAY_TMPDIR"] = HEAD_NODE_TMP
    os.makedirs(os.path.join(HEAD_NODE_TMP, "ray"), exist_ok=True)
    from ray.cluster_utils import Cluster

    port = free_port()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 3,
            "resources": {"node_head": 1},
            "include_dashboard": True,
            "dashboard_host": "127.0.0.1",
            "dashboard_port": port,
            "object_store_memory": 300 * 1024 * 1024,
            **own_ports(),
        },
    )
    try:
        cluster.add_node(num_cpus=3, resources={"node_second": 1}, object_store_memory=300 * 1024 * 1024, temp_dir=SECOND_NODE_TMP, **own_ports())
        cluster.wait_for_nodes()
        dashboard = f"http://127.0.0.1:{port}"
        _wait_for_job_server(dashboard)
        yield dashboard, cluster.address
    finally:
        cluster.shutdown()


def placement(dashboard: str) -> dict:
    """The nodes, and the node every actor ran on, from the state API."""
    from ray.util.state import list_actors, list_nodes

    nodes = {n.node_id: ("head" if n.is_head_node else "second") for n in list_nodes(address=dashboard)}
    actors = [
        {"class_name": a.class_name, "node": nodes.get(a.node_id, a.node_id), "state": a.state}
        for a in list_actors(address=dashboard, limit=10_000, detail=True, raise_on_missing_output=False)
    ]
    return {"nodes": sorted(nodes.values()), "actors": actors}


def main() -> int:
    result_path = sys.argv[1]
    command = sys.argv[sys.argv.index("--") + 1 :]
    with two_nodes() as (dashboard, gcs):
        argv = [part.replace("{dashboard}", dashboard).replace("{gcs}", gcs) for part in command]
        env = {**os.environ, "RAY_ADDRESS": gcs}
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1500)
        payload = {"returncode": completed.returncode, "stdout": completed.stdout[-20000:],
                   "stderr": completed.stderr[-20000:], **placement(dashboard)}
    with open(result_path, "w") as handle:
        json.dump(payload, handle)
    return 0


def _wait_for_job_server(dashboard: str, timeout_s: float = 120.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(f"{dashboard}/api/version", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
