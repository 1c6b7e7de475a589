"""One module per page: each declares ``PAGE = PageInfo(...)`` and ``render(memory)``."""
