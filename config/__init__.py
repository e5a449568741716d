"""Configuration (one settings class) and the admin command line."""
