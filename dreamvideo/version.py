"""The package version (its own module, so that anything can read it without loading the package)."""

__version__ = "0.1.0"
