"""The LocalModel controllers' pure parts: node affinity (``CheckNodeAffinity`` /
``MatchNodeSelectorTerms``), upstream's ``node_watch_test.go`` (the 7 cases of
``NodeReadyPredicate``), the desired LocalModelNode entries, volumes and status, the
agent's Job builder and Job -> status, and ``file_utils_test.go`` on a real directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lightkube.resources.core_v1 import Node

from apis.serving.v1alpha1 import get_storage_key
from controllers.localmodel.desired import (
    CacheRef,
    Consumer,
    cache_ref,
    cache_status,
    consumer_groups,
    download_volumes,
    model_copies,
    node_models,
    node_status_from_model_status,
    node_statuses,
    serving_volumes,
    status_patch,
    uses_cache,
)
from controllers.localmodel.nodeaffinity import (
    NodeAffinityError,
    is_node_ready,
    match_node_selector,
    node_in_group,
)
from controllers.localmodel.predicates import consumer_predicate, node_ready_predicate
from controllers.localmodelnode.file_utils import FileSystemHelper
from controllers.localmodelnode.job import (
    download_container,
    download_job,
    download_pvc_name,
    jobs_of,
    latest_job,
    model_status_from_job,
)
from runtime.event import CreateEvent, DeleteEvent, UpdateEvent

IT = "node.kubernetes.io/instance-type"


def node(name: str = "n", labels: dict[str, str] | None = None,
         ready: str | None = "True") -> dict[str, Any]:
    st = {"conditions": [{"type": "Ready", "status": ready}]} if ready is not None else {}
    return {"metadata": {"name": name, "labels": labels or {}}, "status": st}


def term(*exprs: dict[str, Any], fields: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {}
    if exprs:
        t["matchExpressions"] = list(exprs)
    if fields:
        t["matchFields"] = fields
    return t


def req(key: str, op: str, *values: str) -> dict[str, Any]:
    r: dict[str, Any] = {"key": key, "operator": op}
    if values:
        r["values"] = list(values)
    return r


# ----------------------------------------------------------------------------- node affinity


@pytest.mark.parametrize(("terms", "labels", "want"), [
    ([term(req(IT, "In", "gpu1"))], {IT: "gpu1"}, True),
    ([term(req(IT, "In", "gpu1"))], {IT: "gpu2"}, False),
    ([term(req(IT, "In", "gpu1"))], {}, False),
    ([term(req(IT, "NotIn", "gpu1"))], {}, True),
    ([term(req(IT, "NotIn", "gpu1"))], {IT: "gpu1"}, False),
    ([term(req(IT, "Exists"))], {IT: "x"}, True),
    ([term(req(IT, "DoesNotExist"))], {IT: "x"}, False),
    ([term(req("gpus", "Gt", "3"))], {"gpus": "4"}, True),
    ([term(req("gpus", "Gt", "3"))], {"gpus": "3"}, False),
    ([term(req("gpus", "Lt", "3"))], {"gpus": "two"}, False),
    # terms are ORed, expressions of a term ANDed
    ([term(req(IT, "In", "a")), term(req(IT, "In", "b"))], {IT: "b"}, True),
    ([term(req(IT, "In", "a"), req("zone", "In", "z"))], {IT: "a"}, False),
    # an empty term matches nothing
    ([term()], {IT: "a"}, False),
    ([], {IT: "a"}, False),
    # matchFields: metadata.name
    ([term(fields=[req("metadata.name", "In", "n")])], {}, True),
    ([term(fields=[req("metadata.name", "NotIn", "n")])], {}, False),
    ([term(req(IT, "In", "a"), fields=[req("metadata.name", "In", "other")])], {IT: "a"},
     False),
])
def test_match_node_selector(terms: list[Any], labels: dict[str, str], want: bool) -> None:
    assert match_node_selector({"nodeSelectorTerms": terms}, node("n", labels)) is want


@pytest.mark.parametrize(("terms", "field"), [
    ([term(req(IT, "Bogus", "a"))], "nodeSelector.nodeSelectorTerms[0].matchExpressions[0]"
                                    ".operator"),
    ([term(req(IT, "In"))], "nodeSelector.nodeSelectorTerms[0].matchExpressions[0].values"),
    ([term(req(IT, "Gt", "x"))], "nodeSelector.nodeSelectorTerms[0].matchExpressions[0].values"),
    ([term(fields=[req("metadata.name", "In", "a", "b")])],
     "nodeSelector.nodeSelectorTerms[0].matchFields[0].values"),
])
def test_bad_terms_name_the_field(terms: list[Any], field: str) -> None:
    with pytest.raises(NodeAffinityError) as err:
        match_node_selector({"nodeSelectorTerms": terms}, node("n", {IT: "a"}))
    assert err.value.field == field


def test_bad_term_skipped_when_another_matches() -> None:
    sel = {"nodeSelectorTerms": [term(req(IT, "Bogus", "a")), term(req(IT, "In", "a"))]}
    assert match_node_selector(sel, node("n", {IT: "a"})) is True


def test_group_without_affinity_holds_no_node() -> None:
    assert node_in_group({"spec": {"persistentVolumeSpec": {}}}, node("n", {IT: "a"})) is False


@pytest.mark.parametrize(("conds", "want"), [
    ([{"type": "Ready", "status": "True"}], True),
    ([{"type": "Ready", "status": "False"}], False),
    ([{"type": "Ready", "status": "Unknown"}], False),
    ([{"type": "MemoryPressure", "status": "True"}], False),
    ([], False),
])
def test_is_node_ready(conds: list[dict[str, str]], want: bool) -> None:
    assert is_node_ready({"status": {"conditions": conds}}) is want


# --------------------------------------------------- upstream node_watch_test.go (7 cases)


def lk_node(ready: str | None) -> Node:
    st = {"conditions": [{"type": "Ready", "status": ready}]} if ready is not None else {}
    return Node.from_dict({"metadata": {"name": "test-node"}, "status": st})


@pytest.mark.parametrize(("old", "new", "want"), [
    ("False", "True", True),    # NotReady -> Ready
    (None, "True", True),       # no conditions (new node) -> Ready
    ("True", "True", False),    # stays Ready
    ("True", "False", False),   # Ready -> NotReady
    ("False", "False", False),  # stays NotReady
], ids=["notready-to-ready", "new-to-ready", "stays-ready", "ready-to-notready",
        "stays-notready"])
def test_node_ready_predicate_update(old: str | None, new: str | None, want: bool) -> None:
    pred = node_ready_predicate()
    assert pred.update(UpdateEvent(object_old=lk_node(old), object_new=lk_node(new))) is want


def test_node_ready_predicate_create_and_delete() -> None:
    pred = node_ready_predicate()
    assert pred.create(CreateEvent(object=lk_node(None))) is True
    assert pred.delete(DeleteEvent(object=lk_node("True"))) is False


def test_consumer_predicate_watches_labels_and_node_group() -> None:
    from apis.serving.v1beta1 import InferenceService

    def isvc(labels: dict[str, str], ng: str | None = None) -> Any:
        meta: dict[str, Any] = {"name": "i", "namespace": "ns", "labels": labels}
        if ng:
            meta["annotations"] = {"serving.kserve.io/nodegroup": ng}
        return InferenceService.model_validate({"metadata": meta, "spec": {"predictor": {}}})

    lm = "internal.serving.kserve.io/localmodel"
    p = consumer_predicate(lm)
    assert p.create(CreateEvent(object=isvc({lm: "a"}))) is True
    assert p.create(CreateEvent(object=isvc({}))) is False
    assert p.update(UpdateEvent(object_old=isvc({lm: "a"}), object_new=isvc({lm: "b"}))) is True
    assert p.update(UpdateEvent(object_old=isvc({lm: "a"}), object_new=isvc({lm: "a"}))) is False
    assert p.update(UpdateEvent(object_old=isvc({lm: "a"}),
                                object_new=isvc({lm: "a"}, "g2"))) is True
    assert p.update(UpdateEvent(object_old=isvc({}), object_new=isvc({}, "g2"))) is False


# ------------------------------------------------------------------------- desired state


def cache(name: str = "iris", groups: tuple[str, ...] = ("gpu1",), *, namespace: str = "",
          deleting: bool = False, uri: str = "s3://b/m", sa: str = "",
          storage: dict[str, Any] | None = None) -> CacheRef:
    return CacheRef(kind="LocalModelNamespaceCache" if namespace else "LocalModelCache",
                    name=name, namespace=namespace, uid="u-" + name, source_model_uri=uri,
                    node_groups=groups, service_account_name=sa, storage=storage,
                    deleting=deleting, finalizers=())


def group(name: str, it: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {
        "persistentVolumeSpec": {"capacity": {"storage": "2Gi"}, "nodeAffinity": {"required": {
            "nodeSelectorTerms": [term(req(IT, "In", it))]}}},
        "persistentVolumeClaimSpec": {"resources": {"requests": {"storage": "2Gi"}}}}}


GROUPS = {"gpu1": group("gpu1", "gpu1"), "gpu2": group("gpu2", "gpu2")}


def entry(name: str, g: str, ns: str = "", uri: str = "s3://b/m") -> dict[str, Any]:
    e = {"sourceModelUri": uri, "modelName": name, "nodeGroup": g}
    if ns:
        e["namespace"] = ns
    return e


@pytest.mark.parametrize(("the_node", "existing", "caches", "want"), [
    # a Ready node of the group gets the entry (group of the first matching node group)
    (node("n1", {IT: "gpu2"}), [], [cache(groups=("gpu1", "gpu2"))], [entry("iris", "gpu2")]),
    # a NotReady node gets nothing new ...
    (node("n1", {IT: "gpu1"}, "False"), [], [cache()], []),
    # ... but keeps what it has
    (node("n1", {IT: "gpu1"}, "False"), [entry("iris", "gpu1")], [cache()],
     [entry("iris", "gpu1")]),
    # a deleting or gone cache leaves
    (node("n1", {IT: "gpu1"}), [entry("iris", "gpu1")], [cache(deleting=True)], []),
    (node("n1", {IT: "gpu1"}), [entry("gone", "gpu1")], [], []),
    # a node that left the group loses the model
    (node("n1", {IT: "cpu"}), [entry("iris", "gpu1")], [cache()], []),
    # a missing node group: kept (cannot tell)
    (node("n1", {IT: "cpu"}), [entry("iris", "gpu9")], [cache(groups=("gpu9",))],
     [entry("iris", "gpu9")]),
    # the Node object gone: live caches' entries kept, dead ones dropped
    (None, [entry("iris", "gpu1"), entry("gone", "gpu1")], [cache()], [entry("iris", "gpu1")]),
    # existing order kept, new ones appended sorted; a changed cache updates its entry
    (node("n1", {IT: "gpu1"}), [entry("zeta", "gpu1", uri="s3://old")],
     [cache("alpha"), cache("zeta"), cache("m", namespace="ns")],
     [entry("zeta", "gpu1"), entry("alpha", "gpu1"), entry("m", "gpu1", "ns")]),
])
def test_node_models(the_node: Any, existing: list[Any], caches: list[CacheRef],
                     want: list[Any]) -> None:
    assert node_models(the_node, existing, caches, GROUPS) == want


def test_model_info_optional_fields() -> None:
    c = cache(sa="sa1", storage={"key": "k"}, namespace="ns")
    assert node_models(node("n", {IT: "gpu1"}), [], [c], GROUPS) == [{
        "sourceModelUri": "s3://b/m", "modelName": "iris", "namespace": "ns",
        "nodeGroup": "gpu1", "serviceAccountName": "sa1", "storage": {"key": "k"}}]


def test_cache_ref_from_objects() -> None:
    lmnc = cache_ref({"kind": "LocalModelNamespaceCache",
                      "metadata": {"name": "a", "namespace": "ns", "uid": "u",
                                   "deletionTimestamp": "2026-01-01T00:00:00Z",
                                   "finalizers": ["f"]},
                      "spec": {"sourceModelUri": "s3://x", "nodeGroups": ["g"]}})
    assert (lmnc.status_key, lmnc.namespaced, lmnc.deleting, lmnc.finalizer) == (
        "ns/a", True, True, "localmodelnamespacecache.kserve.io/finalizer")
    lmc = cache_ref({"metadata": {"name": "a"}, "spec": {}})
    assert (lmc.kind, lmc.status_key, lmc.finalizer) == (
        "LocalModelCache", "a", "localmodel.kserve.io/finalizer")


def test_download_volumes_names_and_owners() -> None:
    lmc = download_volumes(cache(), [("gpu1", GROUPS["gpu1"])], "jobs")
    assert [(v["kind"], v["metadata"]) for v in lmc] == [
        ("PersistentVolume", {"name": "iris-gpu1-download", "ownerReferences": [
            {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
             "name": "iris", "uid": "u-iris", "controller": True,
             "blockOwnerDeletion": True}]}),
        ("PersistentVolumeClaim", {"name": "iris-gpu1", "namespace": "jobs", "ownerReferences": [
            {"apiVersion": "serving.kserve.io/v1alpha1", "kind": "LocalModelCache",
             "name": "iris", "uid": "u-iris", "controller": True,
             "blockOwnerDeletion": True}]}),
    ]
    assert lmc[1]["spec"] == {"resources": {"requests": {"storage": "2Gi"}},
                              "volumeName": "iris-gpu1-download"}
    lmnc = download_volumes(cache(namespace="ns"), [("gpu1", GROUPS["gpu1"])], "jobs")
    assert [(v["kind"], v["metadata"]) for v in lmnc] == [
        ("PersistentVolume", {"name": "iris-gpu1-ns-download"}),
        ("PersistentVolumeClaim", {"name": "iris-gpu1-ns-download", "namespace": "jobs"}),
    ]


def test_serving_volumes_and_consumer_groups() -> None:
    c = cache(groups=("gpu1", "gpu2"))
    by_ns = consumer_groups(c, [Consumer("a", "x", None), Consumer("a", "y", "gpu2"),
                                Consumer("b", "z", "nope")], GROUPS)
    assert by_ns == {"a": ["gpu1", "gpu2"], "b": []}
    vols = serving_volumes(c, by_ns, GROUPS)
    assert [(v["kind"], v["metadata"]["name"], v["metadata"].get("namespace")) for v in vols] \
        == [("PersistentVolume", "iris-gpu1-a", None),
            ("PersistentVolumeClaim", "iris-gpu1", "a"),
            ("PersistentVolume", "iris-gpu2-a", None),
            ("PersistentVolumeClaim", "iris-gpu2", "a")]
    # a namespace cache owns its claim in its own namespace, not its volumes
    ns_vols = serving_volumes(cache(namespace="a"), {"a": ["gpu1"]}, GROUPS)
    assert "ownerReferences" not in ns_vols[0]["metadata"]
    assert ns_vols[1]["metadata"]["ownerReferences"][0]["kind"] == "LocalModelNamespaceCache"


@pytest.mark.parametrize(("labels", "namespace", "the_cache", "want"), [
    ({"internal.serving.kserve.io/localmodel": "iris"}, "ns", cache(), True),
    # a namespace cache of the same name is not the cluster cache
    ({"internal.serving.kserve.io/localmodel": "iris",
      "internal.serving.kserve.io/localmodel-namespace": "ns"}, "ns", cache(), False),
    ({"internal.serving.kserve.io/localmodel": "iris",
      "internal.serving.kserve.io/localmodel-namespace": "ns"}, "ns", cache(namespace="ns"),
     True),
    # another namespace claiming a namespace cache does not use it
    ({"internal.serving.kserve.io/localmodel": "iris",
      "internal.serving.kserve.io/localmodel-namespace": "ns"}, "other", cache(namespace="ns"),
     False),
    ({}, "ns", cache(), False),
])
def test_uses_cache(labels: dict[str, str], namespace: str, the_cache: CacheRef,
                    want: bool) -> None:
    assert uses_cache({"metadata": {"namespace": namespace, "labels": labels}},
                      the_cache) is want


@pytest.mark.parametrize(("model", "want"), [
    ("ModelDownloadPending", "NodeDownloadPending"), ("ModelDownloading", "NodeDownloading"),
    ("ModelDownloadError", "NodeDownloadError"), ("ModelDownloaded", "NodeDownloaded"),
    (None, "NodeDownloadPending"), ("bogus", "NodeDownloadPending"),
])
def test_node_status_from_model_status(model: str | None, want: str) -> None:
    assert node_status_from_model_status(model) == want


def test_node_statuses_and_copies() -> None:
    nodes = [node("a", {IT: "gpu1"}), node("b", {IT: "gpu1"}, "False"),
             node("c", {IT: "gpu2"}), node("d", {IT: "cpu"})]
    status, errors = node_statuses(cache(groups=("gpu1", "gpu2")), GROUPS, nodes,
                                   {"a": {"iris": "ModelDownloaded"},
                                    "c": {"iris": "ModelDownloadError"}})
    assert status == {"a": "NodeDownloaded", "b": "NodeNotReady", "c": "NodeDownloadError"}
    assert errors == []
    assert model_copies(status) == {"total": 3, "available": 1, "failed": 1}
    assert model_copies({}) == {}
    bad = {"bad": {"metadata": {"name": "bad"}, "spec": {"persistentVolumeSpec": {
        "nodeAffinity": {"required": {"nodeSelectorTerms": [term(req(IT, "Nope", "x"))]}}}}}}
    _, errors = node_statuses(cache(groups=("bad",)), bad, nodes, {})
    assert errors and "LocalModelNodeGroup bad:" in errors[0] and "Nope" in errors[0]


def test_cache_status_and_patch() -> None:
    old = {"nodeStatus": {"a": "NodeDownloadPending", "gone": "NodeDownloaded"},
           "copies": {"total": 2, "available": 1},
           "inferenceServices": [{"namespace": "n", "name": "x"}]}
    new = cache_status({"a": "NodeDownloaded"}, old, isvcs=[], llm_isvcs=[])
    assert new == {"nodeStatus": {"a": "NodeDownloaded"},
                   "copies": {"total": 1, "available": 1}}
    assert status_patch(old, new) == {
        "nodeStatus": {"a": "NodeDownloaded", "gone": None}, "copies": {"total": 1},
        "inferenceServices": None}
    assert status_patch(new, new) is None
    # volume management off: consumer lists left as they were
    kept = cache_status({}, old, isvcs=None, llm_isvcs=None)
    assert kept == {"copies": {}, "inferenceServices": [{"namespace": "n", "name": "x"}]}


# ------------------------------------------------------------------------------ the agent


def test_download_job() -> None:
    info = {"modelName": "m", "sourceModelUri": "s3://b/m", "namespace": "ns",
            "nodeGroup": "g"}
    c = download_container("s3://b/m", None, "img:1")
    job = download_job(info=info, node_name="node-a",
                       owner={"metadata": {"name": "node-a", "uid": "u"}},
                       job_namespace="jobs", container=c,
                       volumes=[{"name": "kserve-pvc-source", "persistentVolumeClaim": {
                           "claimName": download_pvc_name(info, "g")}}],
                       fs_group=1000, ttl_seconds_after_finished=None)
    assert job == {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"generateName": "m-node-a", "namespace": "jobs",
                     "labels": {"model": "m", "node": "node-a", "modelNamespace": "ns"},
                     "ownerReferences": [{"apiVersion": "serving.kserve.io/v1alpha1",
                                          "kind": "LocalModelNode", "name": "node-a",
                                          "uid": "u", "controller": True,
                                          "blockOwnerDeletion": True}]},
        "spec": {"ttlSecondsAfterFinished": 3600, "template": {"spec": {
            "nodeSelector": {"kubernetes.io/hostname": "node-a"},
            "containers": [{"name": "kserve-localmodel-download", "image": "img:1",
                            "terminationMessagePolicy": "FallbackToLogsOnError",
                            "args": ["s3://b/m", "/mnt/models"],
                            "volumeMounts": [{"name": "kserve-pvc-source",
                                              "mountPath": "/mnt/models",
                                              "subPath": f"models/{get_storage_key('s3://b/m')}"}]}],
            "restartPolicy": "Never",
            "volumes": [{"name": "kserve-pvc-source",
                         "persistentVolumeClaim": {"claimName": "m-g-ns-download"}}],
            "securityContext": {"fsGroup": 1000}}}},
    }
    assert download_pvc_name({"modelName": "m"}, "g") == "m-g"


@pytest.mark.parametrize(("status", "want"), [
    ({"succeeded": 1, "failed": 2}, "ModelDownloaded"),
    ({"failed": 1}, "ModelDownloadError"),
    ({"ready": 1}, "ModelDownloading"),
    ({"active": 1, "ready": 0}, "ModelDownloadPending"),
    ({}, "ModelDownloadPending"),
])
def test_model_status_from_job(status: dict[str, int], want: str) -> None:
    assert model_status_from_job({"status": status}) == want


def job(name: str, ts: str, model: str = "m", ns: str | None = None,
        **status: int) -> dict[str, Any]:
    labels = {"model": model, "node": "n"}
    if ns:
        labels["modelNamespace"] = ns
    return {"metadata": {"name": name, "creationTimestamp": ts, "labels": labels},
            "status": status}


def test_latest_job_and_jobs_of() -> None:
    older = job("a", "2026-01-01T00:00:00Z", succeeded=1)
    newer = job("b", "2026-01-01T00:00:05Z")
    assert latest_job([newer, older]) is newer
    # same second: the one made last, else the unfinished one
    same = job("c", "2026-01-01T00:00:00Z")
    assert latest_job([older, same]) is same
    assert latest_job([same, older], prefer="a") is older
    assert latest_job([]) is None
    cluster, namespaced = job("x", "t"), job("y", "t", ns="ns")
    assert jobs_of({"modelName": "m"}, [cluster, namespaced]) == [cluster]
    assert jobs_of({"modelName": "m", "namespace": "ns"}, [cluster, namespaced]) == [namespaced]


# --------------------------------------------------------- upstream file_utils_test.go


def test_has_model_folder(tmp_path: Path) -> None:
    fs = FileSystemHelper(tmp_path)
    assert fs.has_model_folder("nonexistent-model") is False
    (tmp_path / "test-model").mkdir()
    assert fs.has_model_folder("test-model") is True
    (tmp_path / "a-file").write_text("x")
    assert fs.has_model_folder("a-file") is False


def test_remove_model(tmp_path: Path) -> None:
    fs = FileSystemHelper(tmp_path)
    fs.remove_model("nonexistent-model")
    (tmp_path / "test-model").mkdir()
    (tmp_path / "test-model" / "file.txt").write_text("data")
    fs.remove_model("test-model")
    assert not (tmp_path / "test-model").exists()
    assert fs.model_folders() == []


def test_ensure_model_root_folder_exists(tmp_path: Path) -> None:
    fs = FileSystemHelper(tmp_path / "models")
    fs.ensure_model_root_folder_exists()
    assert (tmp_path / "models").is_dir()
    fs.ensure_model_root_folder_exists()
    (tmp_path / "models" / "k1").mkdir()
    (tmp_path / "models" / "stray-file").write_text("x")
    assert fs.model_folders() == ["k1"]
    assert FileSystemHelper(tmp_path / "absent").model_folders() == []


def test_unwritable_root_is_an_error(tmp_path: Path) -> None:
    """A models root that is a file cannot be made (as root too)."""
    (tmp_path / "file").write_text("x")
    with pytest.raises(OSError):
        FileSystemHelper(tmp_path / "file" / "models").ensure_model_root_folder_exists()
