"""Use cases that combine the domain and the adapters."""
