"""A channel added from outside the core: its adapter, parser and reply sender, nothing else."""
