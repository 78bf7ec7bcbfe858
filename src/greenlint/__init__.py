"""greenlint: find, fix and measure energy waste in Python AI code."""

__version__ = "0.1.0"
