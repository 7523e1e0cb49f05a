"""``python -m workers.cli``: the ``omniroute`` command without its console script."""

from workers.cli import main

main()
