"""Child processes of a local control plane: started, probed, stopped, never leaked.

Each child gets ``PR_SET_PDEATHSIG`` (SIGKILL) so that it dies with the process that
started it even when that process is killed with SIGKILL and no finaliser runs. Linux ties
that signal to the *thread* that forked, so it is only set when starting from the main
thread: a child started from a worker thread (``anyio.to_thread``) would otherwise be killed
when that worker exits. Those children are still stopped by ``Environment.stop`` and at
interpreter exit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1


class EnvtestError(RuntimeError):
    """A control-plane component could not be built, found, started or reached."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_port_free(port: int, what: str) -> None:
    """Raise a clear error when ``port`` on 127.0.0.1 is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as exc:
            raise EnvtestError(
                f"port 127.0.0.1:{port} for {what} is already in use ({exc.strerror})"
            ) from exc


class ManagedProcess:
    """One control-plane binary, its log file and its lifecycle."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: dict[str, str] | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.die_with_parent = die_with_parent
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        binary = self.argv[0]
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise EnvtestError(
                f"{self.name}: binary {binary} not found or not executable "
                "(run `make envtest` to build the pinned Kubernetes binaries)"
            )
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self._log.write(f"--- start {time.strftime('%H:%M:%S')}: {' '.join(self.argv)}\n".encode())
        self._log.flush()
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            preexec_fn=_die_with_parent if self._pdeathsig_safe() else None,
            start_new_session=True,
        )

    def _pdeathsig_safe(self) -> bool:
        return self.die_with_parent and threading.current_thread() is threading.main_thread()

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def _failure(self, why: str) -> EnvtestError:
        tail = self.log_tail()
        if "address already in use" in tail:
            why += " (a port it was given is already in use)"
        return EnvtestError(f"{self.name} {why}; last lines of {self.log_path}:\n{tail}")

    def wait_ready(self, probe: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
        """Poll ``probe`` until it returns True; fail fast if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None:
                raise EnvtestError(f"{self.name} was never started")
            code = self._proc.poll()
            if code is not None:
                raise self._failure(f"exited early with code {code}")
            with contextlib.suppress(Exception):
                if probe():
                    return
            if time.monotonic() > deadline:
                self.stop()
                raise self._failure(f"was not ready within {timeout:.0f} s")
            time.sleep(interval)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout``; always reaps the child."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL at once (a crash, for resilience tests)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


class ProcessGroup(dict[str, ManagedProcess]):
    """The processes of an environment by component name, in start order."""

    def stop_all(self) -> None:
        """Stop every process in reverse start order and forget them."""
        for name in reversed(list(self)):
            self[name].stop()
        self.clear()

    def pids(self) -> dict[str, int]:
        """Process ids of the running ones."""
        return {n: p.pid for n, p in self.items() if p.pid is not None and p.running()}

    def exited(self) -> list[str]:
        """The ones that were started and have exited since (a crash, an OOM kill)."""
        return [n for n, p in self.items() if not p.running()]


def ensure_built(env_var: str, script: Path) -> str:
    """``$env_var`` if set, else the directory the build ``script`` prints as its last stdout
    line (the project's cached build of its binaries), stored into ``$env_var`` for the rest
    of the process and its children."""
    existing = os.environ.get(env_var)
    if existing:
        return existing
    out = subprocess.run(["bash", str(script)], check=True, stdout=subprocess.PIPE, text=True)
    os.environ[env_var] = out.stdout.strip().splitlines()[-1]
    return os.environ[env_var]
