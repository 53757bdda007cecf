"""The embedded demo cluster: an API server double, scenarios and a generator."""
