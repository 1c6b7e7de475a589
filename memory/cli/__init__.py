"""The ``xmem`` command line (typer + rich); it talks to :mod:`memory.service` only."""
