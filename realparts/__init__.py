"""Test and development tooling around real Kubernetes parts (kube-apiserver, etcd, containerd 2).

Nothing under kataview/ imports this package: it builds pinned Go binaries (parts.py, the `build`
script), runs a throwaway control plane (controlplane.py), loads kataview's demo scenario into it
(scenario_load.py) and backs `make cluster` (cluster.py).
"""
