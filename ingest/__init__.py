"""Source systems. Each sub-package turns one system into records; none of them writes."""
