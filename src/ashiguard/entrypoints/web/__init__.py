"""The clinic web app (FastAPI): ``create_app`` in :mod:`ashiguard.entrypoints.web.app`."""
