"""The framework predictors (upstream ``predictor_sklearn.go``, ``predictor_xgboost.go``, ...).

Each is ``PredictorExtensionSpec`` under its own name, as in Go.
"""

from __future__ import annotations

from .predictor_extension import PredictorExtensionSpec


class SKLearnSpec(PredictorExtensionSpec):
    """SKLearnSpec defines arguments for configuring SKLearn model serving."""


class XGBoostSpec(PredictorExtensionSpec):
    """XGBoostSpec defines arguments for configuring XGBoost model serving."""


class TFServingSpec(PredictorExtensionSpec):
    """TFServingSpec defines arguments for configuring Tensorflow model serving."""


class TorchServeSpec(PredictorExtensionSpec):
    """TorchServeSpec defines arguments for configuring PyTorch model serving."""


class TritonSpec(PredictorExtensionSpec):
    """TritonSpec defines arguments for configuring Triton model serving."""


class ONNXRuntimeSpec(PredictorExtensionSpec):
    """ONNXRuntimeSpec defines arguments for configuring ONNX model serving."""


class HuggingFaceRuntimeSpec(PredictorExtensionSpec):
    """HuggingFaceRuntimeSpec defines arguments for configuring HuggingFace model serving."""


class PMMLSpec(PredictorExtensionSpec):
    """PMMLSpec defines arguments for configuring PMML model serving."""


class LightGBMSpec(PredictorExtensionSpec):
    """LightGBMSpec defines arguments for configuring LightGBM model serving."""


class PaddleServerSpec(PredictorExtensionSpec):
    """PaddleServerSpec defines arguments for configuring Paddle model serving."""
