"""The cluster's nodes run one environment: `constraints-cluster.txt` pins every package to
one version, those pins satisfy the project's and vLLM's requirements, and every install in
`ray_cluster.yaml` goes through it on the same Python. Offline: files only, no index."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path

import pytest
import ray
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from ray.autoscaler._private.util import prepare_config, validate_config

ROOT = Path(__file__).resolve().parents[2]
CONSTRAINTS = ROOT / "constraints-cluster.txt"
CLUSTER_YAML = ROOT / "ray_cluster.yaml"
# What every node pickles across the cluster or checks against the head: these must be pinned.
SHARED = ["torch", "ray", "transformers", "pydantic", "pyarrow", "numpy", "peft", "accelerate", "deepspeed", "vllm"]
# The environment the pins were resolved for (the cluster's nodes), for evaluating markers.
NODE_ENV = {"python_version": "3.11", "python_full_version": "3.11.18", "sys_platform": "linux",
            "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
            "implementation_name": "cpython", "platform_python_implementation": "CPython"}


def pins() -> dict[str, Version]:
    """name -> pinned version; refuses anything that is not one `name==version` a line."""
    found: dict[str, Version] = {}
    for number, raw in enumerate(CONSTRAINTS.read_text().splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([0-9][0-9A-Za-z.+!-]*)", line)
        assert match, f"constraints-cluster.txt:{number} is not an exact pin: {line!r}"
        name = canonicalize_name(match[1])
        assert name not in found, f"constraints-cluster.txt:{number} pins {name} a second time"
        found[name] = Version(match[2])
    return found


def header_value(key: str) -> list[str]:
    """Values of `# key: value` lines in the constraints file's header."""
    return re.findall(rf"^# {re.escape(key)}: (.+?)\s*(?:\(.*)?$", CONSTRAINTS.read_text(), flags=re.M)


def assert_satisfied(requirement: str, pinned: dict[str, Version], who: str) -> None:
    req = Requirement(requirement)
    name = canonicalize_name(req.name)
    assert name in pinned, f"{who} requires {req}, which constraints-cluster.txt does not pin"
    assert req.specifier.contains(pinned[name], prereleases=True), (
        f"{who} requires {req}, but constraints-cluster.txt pins {name}=={pinned[name]}")


def test_every_shared_package_is_pinned_exactly():
    pinned = pins()
    assert len(pinned) > 100  # a full resolution, not a hand-picked few
    missing = [name for name in SHARED if name not in pinned]
    assert not missing, f"constraints-cluster.txt leaves {missing} unpinned"


def test_the_pins_satisfy_the_projects_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    pinned = pins()
    for requirement in [*project["dependencies"], *extras["gpu"], *extras["hub"]]:
        req = Requirement(requirement)
        if req.marker is None or req.marker.evaluate(NODE_ENV):
            assert_satisfied(requirement, pinned, "pyproject.toml")


def test_the_gpu_extra_is_the_vllm_whose_requirements_were_checked():
    gpu_extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["gpu"]
    pinned = pins()
    assert [Requirement(r) for r in gpu_extra] == [Requirement(f"vllm=={pinned['vllm']}")], (
        f"the [gpu] extra ({gpu_extra}) must pin the vllm of constraints-cluster.txt ({pinned['vllm']})")
    recorded = re.findall(r"^# requires vllm==(\S+): (.+)$", CONSTRAINTS.read_text(), flags=re.M)
    assert any(Requirement(r).name == "torch" for _, r in recorded), "vLLM's torch requirement is not recorded"
    for version, requirement in recorded:
        assert Version(version) == pinned["vllm"], f"recorded requirements are vllm {version}'s, the pin is {pinned['vllm']}"
        assert_satisfied(requirement, pinned, f"vllm {version}")


def test_tests_here_run_the_clusters_ray():
    # The tests exercise Ray's APIs (Data, Train, the job server); a cluster on another Ray
    # minor runs code they never ran.
    here, cluster = Version(ray.__version__), pins()["ray"]
    assert (here.major, here.minor) == (cluster.major, cluster.minor), (
        f"the tests run Ray {here}, the cluster pins ray=={cluster}")


def node_setup_commands(config: dict) -> dict[str, list[str]]:
    """Each node type's setup commands as Ray runs them: a type's own `worker_setup_commands`
    replace the global ones; the head runs setup_commands + head_setup_commands."""
    commands = {}
    for name, node_type in config["available_node_types"].items():
        if name == config["head_node_type"]:
            commands[name] = config["setup_commands"] + config.get("head_setup_commands", [])
        else:
            commands[name] = node_type.get(
                "worker_setup_commands", config["setup_commands"] + config.get("worker_setup_commands", []))
    return commands


@pytest.fixture(scope="module")
def cluster_config() -> dict:
    config = yaml.safe_load(CLUSTER_YAML.read_text())
    validate_config(prepare_config(copy.deepcopy(config)))  # Ray's own schema, as `ray up` checks it
    return config


def test_every_node_installs_from_the_constraints_on_the_pinned_python(cluster_config):
    # The constraints path on the nodes is where file_mounts puts the repository.
    remote_repo = next(remote for remote, local in cluster_config["file_mounts"].items() if local == ".")
    constraints_flag = f"-c {remote_repo}/{CONSTRAINTS.name}"
    torch_pin = pins()["torch"]
    [python] = header_value("python")
    gpu_types = set()
    for node_type, commands in node_setup_commands(cluster_config).items():
        script = "\n".join(commands)
        pythons = set(re.findall(r"--python (\S+)", script)) | set(re.findall(r"uv python install (\S+)", script))
        assert pythons == {python}, f"{node_type} installs Python {pythons}, the pins are for {python}"
        for command in commands:
            if "pip install" in command and "--no-deps" not in command:
                assert constraints_flag in command, f"{node_type} installs without {constraints_flag}: {command}"
        torches = re.findall(r"\btorch==(\S+)", script)
        assert len(torches) == 1, f"{node_type} should install torch once, explicitly: {torches}"
        build = Version(torches[0])
        assert build.public == str(torch_pin), f"{node_type} installs torch {build}, the pin is {torch_pin}"
        if "[gpu" in script:
            gpu_types.add(node_type)
            assert build.local is None, f"{node_type} runs vLLM on CUDA but installs torch {build}"
        else:
            assert build.local == "cpu" and "download.pytorch.org/whl/cpu" in script, (
                f"{node_type} has no GPU; it should take torch's CPU build, not {build}")
    assert gpu_types == {"gpu_workers"}, f"the [gpu] extra is installed on {gpu_types}"
