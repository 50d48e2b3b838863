"""One module per outside system. Each is the only place that system's formats live."""
