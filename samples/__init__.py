"""Sample and synthetic inputs: the bundled sample inbox and a generator of larger batches."""
