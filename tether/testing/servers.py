"""Real S3 and GCS servers for tests, on 127.0.0.1: moto's server mode and gcp-storage-emulator.

Each runs as a subprocess on a free loopback port, from `start()` (which
waits until it answers) to `stop()`; as a `with` block it is always stopped.

Example:
    with S3Server() as server:
        bucket = server.create_bucket()
        storage = S3Storage(f"s3://{bucket}/data", **server.storage_options())
"""

from __future__ import annotations

import atexit
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import IO, Any

__all__ = ["LocalServer", "S3Server", "GCSServer", "free_port"]

HOST = "127.0.0.1"


def _die_with_parent() -> None:
    """In the child: be sent SIGTERM when the process that started it dies (Linux only)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (closed again before returning)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


class LocalServer:
    """A server subprocess on 127.0.0.1; subclasses give its command and a URL that answers.

    Args:
        port: the port; None picks a free one.
        startup_timeout: seconds to wait for the server to answer.
    """

    name = "server"
    ready_path = "/"

    def __init__(self, port: int | None = None, startup_timeout: float = 30.0) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's address, `http://127.0.0.1:PORT`."""
        return f"http://{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The command line that starts the server."""
        raise NotImplementedError

    def start(self) -> LocalServer:
        """Start the server and wait until it answers.

        Raises:
            RuntimeError: the server exited, or did not answer within `startup_timeout`.
        """
        if self._process is not None:
            return self
        # A file, not a pipe: a chatty server must never block on a full pipe.
        self._output = tempfile.TemporaryFile()
        # Stopped by stop(), at exit, and, should this process be killed, by the kernel.
        self._process = subprocess.Popen(
            self.command(),
            stdout=self._output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._read_output()
                self.stop()
                raise RuntimeError(f"the {self.name} exited at start: {output[-2000:]}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the {self.name} did not answer at {self.url} in {self.startup_timeout}s")

    def stop(self) -> None:
        """Stop the server; safe to call more than once."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None
        atexit.unregister(self.stop)

    def request(self, method: str, path: str, body: bytes | None = None, **headers: str) -> bytes:
        """Send one HTTP request to the server and return the body of its answer."""
        request = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return bytes(answer.read())

    def _answers(self) -> bool:
        try:
            self.request("GET", self.ready_path)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False
        return True

    def _read_output(self) -> str:
        if self._output is None:
            return ""
        self._output.seek(0)
        return self._output.read().decode(errors="replace")

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


class S3Server(LocalServer):
    """moto's S3 server (`moto_server -H 127.0.0.1 -p PORT`), with dummy credentials."""

    name = "moto S3 server"
    ready_path = "/moto-api/"
    access_key = "testing"
    secret_key = "testing"
    region = "us-east-1"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)]

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name if None) and return its name."""
        name = name or f"tether-{uuid.uuid4().hex[:16]}"
        self.request("PUT", f"/{name}")
        return name

    def env(self) -> dict[str, str]:
        """Environment variables that point boto (and so s3fs) at this server."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
        }

    def settings(self, bucket: str | None = None) -> dict[str, Any]:
        """tether settings that point S3 storage at this server (and at `bucket`)."""
        values: dict[str, Any] = {
            "AWS_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_S3_REGION_NAME": self.region,
        }
        if bucket:
            values["AWS_STORAGE_BUCKET_NAME"] = bucket
        return values

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for `S3Storage` or `s3fs.S3FileSystem` that reach this server."""
        return {
            "endpoint_url": self.url,
            "key": self.access_key,
            "secret": self.secret_key,
            "client_kwargs": {"region_name": self.region},
        }

    @contextlib.contextmanager
    def requiring_signatures(self) -> Iterator[None]:
        """While the block runs, refuse every request whose access key moto's IAM does not know.

        moto accepts any credentials by default; this turns on its IAM checks,
        under which the dummy credentials are wrong credentials.
        """
        self.request("POST", "/moto-api/reset-auth", b"0", **{"Content-Type": "text/plain"})
        try:
            yield
        finally:
            self.request("POST", "/moto-api/reset-auth", b"inf", **{"Content-Type": "text/plain"})


class GCSServer(LocalServer):
    """gcp-storage-emulator, in memory (`gcp-storage-emulator start --in-memory`).

    gcsfs reaches it only with `GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT=false` in the
    environment before gcsfs is imported; `env()` includes it.
    """

    name = "GCS emulator"
    ready_path = "/storage/v1/b"
    project = "test"

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "gcp_storage_emulator", "start",
            f"--host={HOST}", f"--port={self.port}", "--in-memory",
        ]  # fmt: skip

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique name if None) and return its name."""
        name = name or f"tether-{uuid.uuid4().hex[:16]}"
        body = json.dumps({"name": name}).encode()
        self.request(
            "POST", f"/storage/v1/b?project={self.project}", body, **{"Content-Type": "application/json"}
        )
        return name

    def env(self) -> dict[str, str]:
        """Environment variables that point gcsfs at this emulator, anonymously."""
        return {"STORAGE_EMULATOR_HOST": self.url, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}

    def settings(self, bucket: str | None = None) -> dict[str, Any]:
        """tether settings that point Google storage at this emulator (and at `bucket`)."""
        values: dict[str, Any] = {
            "GOOGLE_GCS_ENDPOINT_URL": self.url,
            "GOOGLE_CLOUD_PROJECT": self.project,
        }
        if bucket:
            values["GOOGLE_GCS_BUCKET"] = bucket
        return values

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for `GoogleStorage` or `gcsfs.GCSFileSystem` that reach this emulator."""
        return {"endpoint_url": self.url, "token": "anon", "project": self.project}

