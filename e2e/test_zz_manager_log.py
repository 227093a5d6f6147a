"""Runs last: everything the suite did, the manager did under its generated RBAC without a
single refusal (the role is not narrower than the code)."""

from __future__ import annotations

import re

from e2e.conftest import Managers

#: the NamespaceLifecycle admission plugin's 403 (a write racing a namespace's deletion,
#: e.g. an event flushed after the test's namespace went): not an authorization decision
TERMINATING = re.compile(r"unable to create new content in namespace \S+ because it is being "
                         r"terminated")


def test_no_forbidden_in_the_manager_logs(managers: Managers) -> None:
    lines = managers.logs().splitlines()
    assert len(lines) > 20, "the managers logged nothing"
    forbidden = [line for line in lines if "forbidden" in line.lower()]
    refusals = [line for line in forbidden if not TERMINATING.search(line)]
    print(f"{len(lines)} manager log lines; {len(forbidden)} with 'forbidden', of which "
          f"{len(forbidden) - len(refusals)} from namespaces being deleted, "
          f"{len(refusals)} RBAC refusals")
    assert refusals == [], "\n".join(refusals[:20])
    # an RBAC refusal looks like this, so the filter above cannot hide one
    assert not TERMINATING.search('events is forbidden: User "system:serviceaccount:kserve:'
                                  'kserve-controller-manager" cannot create resource "events"')
