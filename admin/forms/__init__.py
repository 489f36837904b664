"""Admin console forms, one module per console: validation only."""
