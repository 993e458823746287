"""The package version, at the bottom of the layers so any module may import it."""

__version__ = "0.1.0"
