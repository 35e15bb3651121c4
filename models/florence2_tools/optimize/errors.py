"""The one error type of the optimiser: bad input named before any expensive work."""


class OptimizeError(Exception):
    """The input folder, a graph in it, or the output path cannot be used; the message says why."""
