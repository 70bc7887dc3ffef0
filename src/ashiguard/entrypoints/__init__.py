"""Entrypoints: the command line and the web app."""
