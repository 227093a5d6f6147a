"""Run the manager out of cluster against a cluster whose webhooks cannot reach it otherwise
(``make run``, ``make deploy``, the e2e suite).

``python -m e2e.local manager --kubeconfig ADMIN [--service-account NS/NAME] [-- FLAGS]``:

1. writes a development CA and a serving certificate for 127.0.0.1 into ``--cert-dir``;
2. as the admin, points every KServe webhook configuration at this machine
   (``url: https://127.0.0.1:<port><path>``, ``caBundle``): the API server may run outside
   the cluster network (the local cluster has no kube-proxy), so a Service reference would
   not reach the process;
3. with ``--service-account``, makes a kubeconfig for that ServiceAccount (a TokenRequest
   token, as the kubelet would mount into the Deployment's pod): the manager then has exactly
   the generated RBAC and nothing more;
4. replaces itself with ``python -m controllers --kubeconfig ... --webhook-cert-dir ...
   FLAGS`` (``exec``: Ctrl-C and SIGTERM reach the manager, which stops gracefully).

The functions are used by the e2e suite as well.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "manager_argv",
    "point_webhooks_at",
    "service_account_kubeconfig",
    "wait_webhooks_answer",
    "webhook_probe",
    "write_webhook_certs",
]

WEBHOOK_SUFFIX = ".serving.kserve.io"
"""KServe's webhook configurations are named ``<kind>.serving.kserve.io``."""


def _client(kubeconfig: str | os.PathLike[str]) -> Any:
    from lightkube import Client, KubeConfig

    return Client(KubeConfig.from_file(Path(kubeconfig)), field_manager="kserve-e2e")


def service_account_kubeconfig(
    admin_kubeconfig: str | os.PathLike[str],
    namespace: str,
    name: str,
    out: str | os.PathLike[str],
    *,
    expiration_seconds: int = 86400,
) -> Path:
    """Write ``out``: the admin kubeconfig's cluster with a token of ServiceAccount
    ``namespace/name`` (which must exist)."""
    from lightkube.models.authentication_v1 import TokenRequestSpec
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.core_v1 import ServiceAccount

    admin = yaml.safe_load(Path(admin_kubeconfig).read_text())
    ctx_name = admin.get("current-context")
    ctx = next(c["context"] for c in admin["contexts"] if c["name"] == ctx_name)
    cluster = next(c for c in admin["clusters"] if c["name"] == ctx["cluster"])
    client = _client(admin_kubeconfig)
    try:
        req = ServiceAccount.Token(
            metadata=ObjectMeta(name=name, namespace=namespace),
            spec=TokenRequestSpec(audiences=[], expirationSeconds=expiration_seconds),
        )
        token = client.create(req, name=name, namespace=namespace).status.token
    finally:
        client.close()
    user = f"system:serviceaccount:{namespace}:{name}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": user, "context": {"cluster": cluster["name"], "user": user}}],
        "current-context": user,
    }
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    path.chmod(0o600)
    return path


def write_webhook_certs(cert_dir: str | os.PathLike[str]) -> bytes:
    """A new development CA and a serving certificate for 127.0.0.1/localhost in
    ``cert_dir`` (``tls.crt``, ``tls.key``, ``ca.crt``); returns the CA's PEM."""
    from runtime.webhook.dev import write_dev_certificates

    return write_dev_certificates(Path(cert_dir), ("127.0.0.1", "localhost"))


VALIDATOR_NAME = "inferenceservice.kserve-webhook-server.validator"


def webhook_probe(namespace: str) -> dict[str, Any]:
    """An InferenceService the validator refuses (unknown autoscaler class), to create with
    ``dryRun=All``: refused by :data:`VALIDATOR_NAME` means the API server calls the webhooks
    as configured now (it reads webhook configurations through its own informer, so a patch
    takes effect a moment later)."""
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "webhook-probe", "namespace": namespace,
                         "annotations": {"serving.kserve.io/autoscalerClass": "none-such"}},
            "spec": {"predictor": {"sklearn": {"storageUri": "gs://probe/model"}}}}


def point_webhooks_at(
    admin_kubeconfig: str | os.PathLike[str], ca_pem: bytes, port: int, host: str = "127.0.0.1"
) -> list[str]:
    """Set ``caBundle`` and ``url = https://host:port<service path>`` on every webhook of
    the KServe Mutating/ValidatingWebhookConfigurations; returns ``kind/name`` of each."""
    from lightkube.resources.admissionregistration_v1 import (
        MutatingWebhookConfiguration,
        ValidatingWebhookConfiguration,
    )

    bundle = base64.b64encode(ca_pem).decode()
    done = []
    client = _client(admin_kubeconfig)
    try:
        for kind in (MutatingWebhookConfiguration, ValidatingWebhookConfiguration):
            for cfg in client.list(kind):
                if not (cfg.metadata.name or "").endswith(WEBHOOK_SUFFIX):
                    continue
                for wh in cfg.webhooks or []:
                    cc = wh.clientConfig
                    path = cc.service.path if cc.service is not None else None
                    if cc.service is not None or cc.url is None:
                        cc.url = f"https://{host}:{port}{path or '/'}"
                        cc.service = None
                    elif cc.url is not None:
                        rest = cc.url.split("://", 1)[-1]
                        cc.url = f"https://{host}:{port}/{rest.partition('/')[2]}"
                    cc.caBundle = bundle
                client.replace(cfg)
                done.append(f"{kind.__name__}/{cfg.metadata.name}")
    finally:
        client.close()
    return done


def wait_webhooks_answer(admin_kubeconfig: str | os.PathLike[str], namespace: str = "default",
                         timeout: float = 30.0) -> None:
    """Until the InferenceService validator refuses :func:`webhook_probe` (a change made by
    :func:`point_webhooks_at` takes effect a moment later; until then a request may still go
    to the old address)."""
    import time

    from lightkube import ApiError
    from lightkube.generic_resource import create_namespaced_resource

    isvc = create_namespaced_resource("serving.kserve.io", "v1beta1", "InferenceService",
                                      "inferenceservices")
    probe = isvc.from_dict(webhook_probe(namespace))
    client = _client(admin_kubeconfig)
    deadline, last = time.monotonic() + timeout, ""
    try:
        while True:
            try:
                client.create(probe, dry_run=True)
                last = "accepted"
            except ApiError as e:
                last = e.status.message or str(e.status.code)
                if e.status.code == 403 and VALIDATOR_NAME in last:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the webhooks do not answer after {timeout:g} s: {last}")
            time.sleep(0.2)
    finally:
        client.close()


def manager_argv(kubeconfig: str | os.PathLike[str], cert_dir: str | os.PathLike[str],
                 port: int, flags: Sequence[str] = ()) -> list[str]:
    return [sys.executable, "-m", "controllers", f"--kubeconfig={kubeconfig}",
            f"--webhook-cert-dir={cert_dir}", f"--webhook-port={port}", *flags]


def _cmd_manager(args: argparse.Namespace) -> int:
    state = Path(args.state_dir)
    cert_dir = state / "webhook-certs"
    ca = write_webhook_certs(cert_dir)
    for name in point_webhooks_at(args.kubeconfig, ca, args.webhook_port):
        print(f"webhook configuration {name} -> https://127.0.0.1:{args.webhook_port}",
              flush=True)
    kubeconfig = Path(args.kubeconfig)
    if args.service_account:
        ns, _, name = args.service_account.partition("/")
        kubeconfig = service_account_kubeconfig(args.kubeconfig, ns, name,
                                                state / f"sa-{ns}-{name}.kubeconfig")
        print(f"running as ServiceAccount {ns}/{name} ({kubeconfig})", flush=True)
    env = {**os.environ, "POD_NAMESPACE": args.namespace}
    argv = manager_argv(kubeconfig, cert_dir, args.webhook_port, args.flags)
    print("exec " + " ".join(argv[1:]), flush=True)
    os.execve(argv[0], argv, env)
    return 1  # pragma: no cover - exec does not return


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m e2e.local", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("manager", help="point the webhooks here and exec the manager")
    m.add_argument("--kubeconfig", required=True, help="an admin kubeconfig")
    m.add_argument("--service-account", default="",
                   help="NAMESPACE/NAME: run the manager with this ServiceAccount's token")
    m.add_argument("--namespace", default="kserve", help="$POD_NAMESPACE of the manager")
    m.add_argument("--webhook-port", type=int, default=9443)
    m.add_argument("--state-dir", default=".cluster", help="where certificates and the "
                   "ServiceAccount kubeconfig go (default .cluster)")
    m.add_argument("flags", nargs="*", help="more manager flags (after --)")
    args = ap.parse_args(argv)
    return _cmd_manager(args)


if __name__ == "__main__":
    sys.exit(main())
