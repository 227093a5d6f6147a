"""KServe's admission webhook handlers (defaulters, validators and the pod mutator), served by
``runtime.webhook``."""
