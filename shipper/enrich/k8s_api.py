"""Optional enrichment from the Kubernetes API (``k8s_api: true``).

Reads the shipper's own pod (labels, annotations, owner references) and, when a Job owns
the pod, that Job's owner CronJob, so records get ``job_id``, ``k8s.owner`` and
``k8s.cronjob`` when the downward API did not provide them. The ``kubernetes`` client is
imported lazily (it costs idle memory) and every call runs in a worker thread with
connect/read timeouts. Failures never raise: the last good facts (or empty ones) are
kept and ONE warning is logged per run of failures; the next success re-arms it.

RBAC needed: ``get`` on ``pods`` and on ``batch/jobs`` in the pod's namespace (the Helm
chart renders it with ``shipper.k8sApi: true``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

Clock = Callable[[], float]
ApiClientFactory = Callable[[], Any]


def empty_facts() -> dict[str, Any]:
    """The facts before (or without) a successful read."""
    return {"labels": {}, "annotations": {}, "owner": None, "cronjob": None, "job_name": None}


class K8sApiEnricher:
    """Pod facts from the API server, refreshed on a slow interval.

    ``api_client_factory()`` returns a ``kubernetes.client.ApiClient``; by default the
    in-cluster service-account config (falling back to the local kubeconfig) is used.
    """

    def __init__(
        self, namespace: str, pod_name: str, *, clock: Clock, refresh_interval: float = 300.0,
        timeout: float = 5.0, api_client_factory: ApiClientFactory | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.namespace = namespace
        self.pod_name = pod_name
        self._clock = clock
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self._factory = api_client_factory or _default_api_client
        self._log = logger or logging.getLogger(__name__)
        self._client: Any = None
        self._facts = empty_facts()
        self._last_attempt: float | None = None
        self._warned = False

    def facts(self) -> dict[str, Any]:
        """A copy of the current facts (see :func:`empty_facts` for the keys)."""
        facts = dict(self._facts)
        facts["labels"] = dict(facts["labels"])
        facts["annotations"] = dict(facts["annotations"])
        facts["owner"] = dict(facts["owner"]) if facts["owner"] else None
        return facts

    def due(self) -> bool:
        """True when no read was tried yet or the refresh interval has passed."""
        last = self._last_attempt
        return last is None or self._clock() - last >= self.refresh_interval

    async def maybe_refresh(self) -> bool:
        """Refresh when :meth:`due`; returns whether a read was attempted."""
        if not self.due():
            return False
        await self.refresh()
        return True

    async def refresh(self) -> None:
        """Read the pod (and its Job) in a thread; never raises on API trouble."""
        self._last_attempt = self._clock()
        try:
            # The first import of the client takes seconds: not part of the read timeout.
            await asyncio.to_thread(_import_client)
            facts, job_error = await asyncio.wait_for(
                asyncio.to_thread(self._read), timeout=self.timeout * 2 + 1.0)
        except _failure_types() as exc:
            self._degrade(exc, "pod")
            return
        self._facts = facts
        if job_error is not None:
            self._degrade(job_error, "job")
        else:
            self._warned = False

    def close(self) -> None:
        """Release the client's connection pool."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _degrade(self, exc: BaseException, what: str) -> None:
        if self._warned:
            self._log.debug("kubernetes API read still failing", extra={"read": what})
            return
        self._warned = True
        self._log.warning(
            "kubernetes API enrichment degraded: using downward-API data only",
            extra={"read": what, "error": type(exc).__name__,
                   "status": getattr(exc, "status", None)},
        )

    def _api(self) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client

    def _read(self) -> tuple[dict[str, Any], BaseException | None]:
        """Blocking: runs in a worker thread."""
        from kubernetes import client

        api = self._api()
        request_timeout = (self.timeout, self.timeout)
        pod = client.CoreV1Api(api).read_namespaced_pod(
            self.pod_name, self.namespace, _request_timeout=request_timeout)
        meta = pod.metadata
        if meta is None:
            raise ValueError(f"pod {self.pod_name} has no metadata")
        facts = empty_facts()
        facts["labels"] = dict(meta.labels or {})
        facts["annotations"] = dict(meta.annotations or {})
        owner = _controller_owner(meta.owner_references)
        facts["owner"] = owner
        if not owner or owner["kind"] != "Job":
            return facts, None
        facts["job_name"] = owner["name"]
        try:
            job = client.BatchV1Api(api).read_namespaced_job(
                owner["name"], self.namespace, _request_timeout=request_timeout)
        except _failure_types() as exc:
            return facts, exc
        job_owner = _controller_owner(job.metadata.owner_references if job.metadata else None)
        if job_owner and job_owner["kind"] == "CronJob":
            facts["cronjob"] = job_owner["name"]
        return facts, None


def _controller_owner(refs: list[Any] | None) -> dict[str, str] | None:
    """The controller owner reference (else the first one) as ``{"kind", "name"}``."""
    if not refs:
        return None
    chosen = next((ref for ref in refs if ref.controller), refs[0])
    return {"kind": chosen.kind, "name": chosen.name}


def _import_client() -> None:
    # the API classes load lazily on first use (CoreV1Api alone ~1.5 s, more than the
    # base package): imported here, outside the read's timeout
    from kubernetes.client import BatchV1Api, CoreV1Api  # noqa: F401


def _failure_types() -> tuple[type[BaseException], ...]:
    """Errors that mean "the API is not usable now" (imported lazily)."""
    base: tuple[type[BaseException], ...] = (OSError, TimeoutError, ValueError, ImportError)
    try:
        import urllib3.exceptions
        from kubernetes.client.exceptions import OpenApiException
        from kubernetes.config.config_exception import ConfigException
    except ImportError:
        return base
    return base + (OpenApiException, ConfigException, urllib3.exceptions.HTTPError)


def _default_api_client() -> Any:
    """In-cluster service-account config, else the local kubeconfig (development)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    try:
        config.load_incluster_config(  # type: ignore[no-untyped-call]
            client_configuration=configuration)
    except config.ConfigException:
        config.load_kube_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    configuration.retries = 1
    return client.ApiClient(configuration)
