"""Screens: one per flow."""
