"""Cherish: customer care and complaint management that keeps customers."""

__version__ = "0.1.0"
