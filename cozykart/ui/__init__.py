"""Reflex pages, shared state, layout and components."""
