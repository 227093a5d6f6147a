"""The manager as a real process for the e2e suite: ``python -m controllers`` with a
ServiceAccount kubeconfig, its own ports, its log in a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from runtime.testing.processes import free_port

__all__ = ["ManagerProcess"]


class ManagerProcess:
    """One replica. ``start()`` launches it; ``wait_ready()`` waits for its probe;
    ``stop()`` sends SIGTERM (graceful: the lease is released), ``kill()`` SIGKILL."""

    def __init__(self, name: str, kubeconfig: Path, cert_dir: Path, log_dir: Path,
                 *, namespace: str = "kserve", flags: tuple[str, ...] = ("--leader-elect",)
                 ) -> None:
        self.name = name
        self.kubeconfig = kubeconfig
        self.cert_dir = cert_dir
        self.log_path = log_dir / f"manager-{name}.log"
        self.namespace = namespace
        self.flags = flags
        self.webhook_port = free_port()
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        return [sys.executable, "-m", "controllers", f"--kubeconfig={self.kubeconfig}",
                f"--webhook-cert-dir={self.cert_dir}", f"--webhook-port={self.webhook_port}",
                f"--metrics-addr=127.0.0.1:{self.metrics_port}",
                f"--health-probe-addr=127.0.0.1:{self.health_port}", *self.flags]

    def start(self) -> ManagerProcess:
        env = {**os.environ, "POD_NAMESPACE": self.namespace, "PYTHONUNBUFFERED": "1"}
        env.pop("KUBECONFIG", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         cwd=Path(__file__).resolve().parents[1])
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def get(self, path: str, port: int | None = None) -> tuple[int, str]:
        url = f"http://127.0.0.1:{port or self.health_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self) -> str:
        return self.get("/metrics", self.metrics_port)[1]

    def wait_ready(self, path: str = "/readyz", timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"manager {self.name} exited; log:\n{self.log_tail()}")
            try:
                if self.get(path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"manager {self.name} not ready in {timeout:.0f} s:\n"
                           f"{self.log_tail()}")

    def stop(self, timeout: float = 40.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON log lines (one object per line)."""
        out = []
        for line in self.log().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out

    @property
    def leads(self) -> bool:
        return "successfully acquired lease" in self.log()
