"""Reference requests: sales ask for a customer reference; managers match and assign an advocate,
who accepts or declines; sales give feedback after the call."""
