"""Reference requests (sales ↔ advocates), referrals, CRM opportunities and outbound webhooks."""
