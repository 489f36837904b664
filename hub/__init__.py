"""Vouch hub: the app factory, accounts, roles and shared infrastructure."""
