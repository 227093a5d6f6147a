"""``python -m controllers.localmodel``: ``kserve-localmodel-manager``."""

from controllers.localmodel.manager import entry

entry()
