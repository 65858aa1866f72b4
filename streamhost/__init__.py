"""streamhost: a real-time AI livestream host engine."""

__version__ = "0.1.0"
