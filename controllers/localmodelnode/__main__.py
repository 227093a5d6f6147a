"""``python -m controllers.localmodelnode``: ``kserve-localmodelnode-agent``."""

from controllers.localmodelnode.manager import entry

entry()
