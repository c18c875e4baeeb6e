"""Where the suite's data lives: inside an installed wheel, or at the source tree's root."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_INSTALLED = _PACKAGE / "_data"
SOURCE_ROOT = _PACKAGE.parent


def data_dir(name: str) -> Path:
    """Return the directory of one data set (``spec``, ``schemas``, ``cases``)."""
    installed = _INSTALLED / name
    return installed if installed.is_dir() else SOURCE_ROOT / name
