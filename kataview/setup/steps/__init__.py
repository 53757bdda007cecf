"""The guided setup's steps: the step machinery and the node steps (base), the Kubernetes
steps (kube), the smoke test (smoke)."""
