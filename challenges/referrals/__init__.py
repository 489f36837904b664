"""Referrals: an advocate refers a peer; the CRM later says whether the lead became a deal."""
