"""Manager and owner consoles: they call the other packages' services and own no models."""
