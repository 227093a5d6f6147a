"""``python -m controllers``: the manager (``kserve-manager``); see :mod:`controllers.manager`."""

from controllers.manager import entry

entry()
