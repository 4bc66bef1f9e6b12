# syntax=docker/dockerfile:1
# The shipper image: multi-stage, slim Python 3.12, non-root numeric UID, read-only-rootfs
# friendly (state and temp live on volumes). No HEALTHCHECK: Kubernetes probes call
# /healthz and /readyz on port 9102.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# gcc (this stage only) compiles the kernels extension (shipper/kernels/_compiled.pyx + *.pxi);
# the bookworm toolchain is not pinned: its point releases are what the base image gets.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/shipper
COPY pyproject.toml setup.py README.md ./
COPY shipper ./shipper
# Byte-code is compiled here, so nothing needs to be written under a read-only root. The
# build fails when the kernels fell back to pure Python (-I: not the source tree's copy).
RUN /opt/shipper/bin/pip install --no-cache-dir . \
 && /opt/shipper/bin/python -I -c "import shipper.kernels as k; assert k.IMPLEMENTATION == 'compiled', k.WHY_PURE" \
 && /opt/shipper/bin/pip uninstall --yes pip setuptools wheel \
 && /opt/shipper/bin/python -m compileall -q /opt/shipper

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="shipper" \
      org.opencontainers.image.description="Kubernetes-ready sidecar log shipper" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.12-slim-bookworm"
# Drop the package manager and pip from the runtime: the image never installs anything.
RUN rm -rf /usr/bin/apt /usr/bin/apt-* /usr/bin/dpkg /usr/bin/dpkg-* /var/lib/apt /var/cache/apt \
    /usr/local/bin/pip /usr/local/bin/pip3 /usr/local/bin/pip3.12 \
    /usr/local/lib/python3.12/site-packages/pip \
 && mkdir -p /var/lib/shipper /etc/shipper /etc/podinfo \
 && chown 65532:65532 /var/lib/shipper
COPY --from=build /opt/shipper /opt/shipper
ENV PATH=/opt/shipper/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TMPDIR=/tmp
USER 65532:65532
WORKDIR /var/lib/shipper
EXPOSE 9102
ENTRYPOINT ["shipper"]
CMD ["run", "--config", "/etc/shipper/config.yaml"]
