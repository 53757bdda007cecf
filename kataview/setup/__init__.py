"""The guided setup backend: containerd and CRI-O config transforms, preflight, steps."""
