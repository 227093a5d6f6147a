# The KServe manager (kserve-py) for a real cluster:
#   docker build -t kserve-py/kserve-controller:latest .
# then `kubectl apply --server-side -k config/default` (its images: entry names this image).
# Two stages: the build stage installs the project with the pinned versions
# (requirements.lock) into a virtualenv; the final image holds that virtualenv only, runs as
# a non-root numeric user (runAsNonRoot can check it) and writes nothing to its filesystem
# (the Deployment mounts it read-only; bytecode is compiled at build time).
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/kserve
COPY pyproject.toml requirements.lock ./
COPY runtime ./runtime
COPY apis ./apis
COPY controllers ./controllers
COPY codegen ./codegen
RUN /opt/kserve/bin/pip install -c requirements.lock . \
 && /opt/kserve/bin/python -m compileall -q /opt/kserve

FROM ${PYTHON_IMAGE}
COPY --from=build /opt/kserve /opt/kserve
ENV PATH=/opt/kserve/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 65532:65532
# metrics, health probes, admission webhooks
EXPOSE 8080 8081 9443
ENTRYPOINT ["python", "-m", "controllers"]
