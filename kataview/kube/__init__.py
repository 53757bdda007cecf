"""The Kubernetes API: connection, read-only transport, informers, decoding into model records."""
