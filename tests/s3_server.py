"""A real S3 server for tests: moto's ThreadedMotoServer on a free loopback port.

Registered in `tests/conftest.py` (`pytest_plugins`). At start-up (`pytest_configure`) it
picks a free port and points the standard AWS environment at it (`AWS_ENDPOINT_URL`, fake
credentials, a region), before any test starts Ray: pyarrow (hence `RunFolder`, Ray Data
and Ray Train storage) reads that environment, and the processes Ray starts inherit it, so
`s3://` URIs work everywhere in the session with no other setting. The session is thereby
sealed off from any real S3: nothing a test does can reach a real bucket.

The server itself starts only when a test asks for it:

    def test_x(s3_uri):              # s3://tooldistill-test/<test>-<random>/, empty, served
        folder = RunFolder(s3_uri)

    s3_server  (session)  the server: `endpoint`, `filesystem()` (a pyarrow S3FileSystem)
    s3_bucket  (session)  the bucket's name, created once
    s3_uri     (function) a fresh prefix in the bucket for one test

`list_keys(uri)` lists what a test wrote, relative to a URI.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

BUCKET = "tooldistill-test"
_ENV: dict[str, str] = {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pytest_configure(config: pytest.Config) -> None:
    port = _free_port()
    _ENV.update({
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    })
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE"):  # a user's own would override the fake keys
        os.environ.pop(name, None)
    os.environ.update(_ENV)


@dataclass
class S3Server:
    host: str
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def filesystem(self, **options):
        """A pyarrow S3FileSystem on this server (bucket creation allowed)."""
        import pyarrow.fs as pafs

        return pafs.S3FileSystem(endpoint_override=f"{self.host}:{self.port}", scheme="http",
                                 access_key="testing", secret_key="testing", region="us-east-1",
                                 allow_bucket_creation=True, **options)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    if not _ENV:
        raise RuntimeError("tests.s3_server is not registered as a pytest plugin (pytest_plugins in tests/conftest.py)")
    if os.environ.get("AWS_ENDPOINT_URL") != _ENV["AWS_ENDPOINT_URL"]:
        raise RuntimeError(f"AWS_ENDPOINT_URL was changed to {os.environ.get('AWS_ENDPOINT_URL')} during the session")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    port = int(_ENV["AWS_ENDPOINT_URL"].rsplit(":", 1)[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    try:
        server.start()
    except OSError as exc:  # the port was taken between pytest_configure and now
        raise RuntimeError(f"cannot start the moto S3 server on port {port}: {exc}") from exc
    try:
        yield S3Server("127.0.0.1", port)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_bucket(s3_server: S3Server) -> str:
    s3_server.filesystem().create_dir(BUCKET)
    return BUCKET


@pytest.fixture
def s3_uri(s3_bucket: str, request: pytest.FixtureRequest) -> str:
    """A prefix of the test bucket that no other test uses: `s3://<bucket>/<test name>-<random>`."""
    name = "".join(c if c.isalnum() or c in "-_" else "-" for c in request.node.name)[:60]
    return f"s3://{s3_bucket}/{name}-{uuid.uuid4().hex[:8]}"


def list_keys(uri: str) -> dict[str, int]:
    """{key relative to `uri`: size} of every object below `uri`."""
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    prefix = path.rstrip("/") + "/"
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True, allow_not_found=True))
    return {i.path[len(prefix):]: i.size for i in infos if i.type == pafs.FileType.File}
