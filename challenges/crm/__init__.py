"""The CRM side of the program: opportunities (API upsert and CSV import), the integration token,
attribution (which advocates touched which deals, and the credit), its reports, and the signed
webhooks Vouch sends to the CRM."""
