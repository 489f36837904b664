"""Challenges, completions, verification, caps; reference requests (references/), referrals
(referrals/) and the CRM with attribution (crm/)."""
