"""harqa package."""
