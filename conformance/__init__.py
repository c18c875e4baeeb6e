"""lcm-conformance: a conformance test suite for the LCM WebService message API."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lcm-conformance")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
