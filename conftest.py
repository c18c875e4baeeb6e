"""Root conftest: lets plain ``pytest`` from a source checkout find the package."""
