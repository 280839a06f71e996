"""govchaos: prove an AI gateway stays governed and available when things break."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("govchaos")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

__all__ = ["__version__"]
