"""Configuration: the one settings class (``config.settings``)."""
