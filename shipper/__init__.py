"""shipper: a Kubernetes-ready sidecar log shipper for job-oriented workloads."""

__version__ = "0.1.0"
