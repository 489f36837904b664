"""Challenges, completions, verification, caps, references, referrals and attribution."""
