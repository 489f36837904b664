"""Comparing people's email addresses (referral dedupe)."""

from __future__ import annotations


def email_key(email: str) -> str:
    """The identity of a person's address for dedupe: case-insensitive and without a +tag,
    so `Ada+x@Example.com` and `ada@example.com` are the same person."""
    local, _, domain = email.strip().lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"
