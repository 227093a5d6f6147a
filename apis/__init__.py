"""KServe API types (Pydantic), one module per upstream Go file.

Kinds are ``runtime.resource.CustomResource`` subclasses with ``__crd__``; the CRD generator
(``python -m codegen``) finds them with ``runtime.resource.discover("apis")``, which imports every
module below this package. Put a new kind in any module under ``apis/`` and it is generated.

Importing ``apis`` itself is cheap; import the version package you need
(``from apis.serving.v1beta1 import InferenceService``).
"""
