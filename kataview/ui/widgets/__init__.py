"""Widgets that render snapshots."""
