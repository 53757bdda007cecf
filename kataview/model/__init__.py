"""Frozen domain records and pure analysis. Standard library only."""
