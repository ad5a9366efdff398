"""Simulator fixtures (owner: SIM)."""
