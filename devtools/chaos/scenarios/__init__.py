"""One module per family of injected faults."""
