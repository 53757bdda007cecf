"""The view moved to the model (kataview.model.cluster_view: rows are pure data, built there).

This name is kept for ui/screens/main.py's import alone, until that import names the model;
nothing else may import it (tests/test_import_hygiene.py).
"""

from kataview.model.cluster_view import ClusterView

__all__ = ["ClusterView"]
