"""A controller-runtime-style framework for Kubernetes controllers on lightkube and anyio.

This package knows Kubernetes, never KServe: it must not import ``apis``, ``controllers``
or ``codegen``.
"""
