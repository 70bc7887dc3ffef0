"""The pure core: standard library, numpy/scipy and pydantic only; no files, network or clock."""
