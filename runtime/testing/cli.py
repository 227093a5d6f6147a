"""``kserve-envtest``: run a local control plane in the background for people.

``up`` starts a supervisor process (``serve``) detached from the terminal, waits until the
control plane is ready and prints how to use it, ending with ``export KUBECONFIG=...``.
``down`` stops the supervisor, which stops every component; nothing is left running.
Each ``up`` starts from a clean directory (fresh etcd, fresh certificates).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from runtime.testing.envtest import Environment
from runtime.testing.processes import EnvtestError

READY = "ready.json"
PIDFILE = "supervisor.pid"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped) counts as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _read_pid(d: Path) -> int | None:
    try:
        return int((d / PIDFILE).read_text().strip())
    except (OSError, ValueError):
        return None


def _print_usage(info: dict[str, object]) -> None:
    kubeconfig = info["kubeconfig"]
    assets = info.get("assets", "")
    print(
        f"control plane up: {info['server']} (Kubernetes {info['version']}), "
        f"started in {info['start_seconds']:.1f} s"
    )
    if info.get("nodes"):
        print(f"simulated nodes (kwok): {', '.join(map(str, info['nodes']))}")  # type: ignore[call-overload]
    print(f"logs: {info['dir']}/*.log")
    print(f"kubectl: {assets}/kubectl --kubeconfig {kubeconfig} get nodes")
    print("stop it with: make cluster-down")
    print(f"export KUBECONFIG={kubeconfig}")


def cmd_up(args: argparse.Namespace) -> int:
    d = Path(args.dir).resolve()
    pid = _read_pid(d)
    if pid and _alive(pid) and (d / READY).exists():
        print(f"already running (supervisor pid {pid})")
        _print_usage(json.loads((d / READY).read_text()))
        return 0
    if pid and _alive(pid):
        print(
            f"a supervisor (pid {pid}) is running but not ready; run `down` first", file=sys.stderr
        )
        return 1
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    argv = [sys.executable, "-m", "runtime.testing.cli", "serve", "--dir", str(d)]
    argv += ["--cluster"] if args.cluster else []
    for crd in args.crds:
        argv += ["--crds", crd]
    with open(d / "supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (d / PIDFILE).write_text(str(proc.pid))
    print(f"starting the control plane in {d} (supervisor pid {proc.pid}) ...", flush=True)
    deadline = time.monotonic() + args.timeout
    while not (d / READY).exists():
        if proc.poll() is not None:
            print(f"the control plane failed to start; {d}/supervisor.log says:", file=sys.stderr)
            print((d / "supervisor.log").read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            print(f"not ready within {args.timeout:.0f} s; stopping", file=sys.stderr)
            proc.terminate()
            proc.wait(30)
            return 1
        time.sleep(0.2)
    _print_usage(json.loads((d / READY).read_text()))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    d = Path(args.dir).resolve()
    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    env = Environment(work_dir=d, cluster=args.cluster, crd_paths=args.crds)
    try:
        env.start()
        info = {
            "server": env.server,
            "kubeconfig": str(env.kubeconfig_path),
            "version": env.version().get("gitVersion"),
            "start_seconds": env.start_seconds,
            "dir": str(d),
            "assets": os.environ.get("KUBEBUILDER_ASSETS", ""),
            "pids": env.pids(),
            "nodes": [f"kwok-node-{i}" for i in range(env.nodes)] if args.cluster else [],
        }
        tmp = d / (READY + ".tmp")
        tmp.write_text(json.dumps(info, indent=2))
        tmp.rename(d / READY)
        print(f"ready: {json.dumps(info)}", flush=True)
        while not stop:
            dead = env.exited_components()
            if dead:
                print(f"error: {', '.join(dead)} exited; stopping the control plane", flush=True)
                return 1
            time.sleep(0.5)
    except EnvtestError as exc:
        print(f"error: {exc}", flush=True)
        return 1
    finally:
        env.stop()
        with contextlib.suppress(OSError):
            (d / READY).unlink()
    print("stopped", flush=True)
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    d = Path(args.dir).resolve()
    pid = _read_pid(d)
    if not pid or not _alive(pid):
        print("not running")
        with contextlib.suppress(OSError):
            (d / PIDFILE).unlink()
        return 0
    pids: dict[str, int] = {}
    with contextlib.suppress(OSError, ValueError):
        pids = json.loads((d / READY).read_text()).get("pids", {})
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    if _alive(pid):
        os.killpg(pid, signal.SIGKILL)
    leftover = [f"{n} ({p})" for n, p in pids.items() if _alive(p)]
    for name_pid in leftover:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(name_pid.split("(")[1].rstrip(")")), signal.SIGKILL)
    with contextlib.suppress(OSError):
        (d / PIDFILE).unlink()
    print("stopped" + (f"; had to kill {', '.join(leftover)}" if leftover else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kserve-envtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("up", "serve", "down"):
        p = sub.add_parser(name)
        p.add_argument("--dir", default=".cluster", help="state directory (default .cluster)")
        p.add_argument("--timeout", type=float, default=120.0)
        if name != "down":
            p.add_argument(
                "--cluster",
                action="store_true",
                help="add kube-controller-manager, kube-scheduler and kwok nodes",
            )
            p.add_argument("--crds", action="append", default=[], help="CRD file or directory")
    args = parser.parse_args(argv)
    return {"up": cmd_up, "serve": cmd_serve, "down": cmd_down}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
