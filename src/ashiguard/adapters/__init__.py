"""Adapters: the outside world (files, sensors, databases) behind small contracts."""
