"""Email: the outbox and its delivery (sending), what Vouch emails advocates (mailings), which
kinds each advocate gets and the unsubscribe links (preferences), and their pages (views)."""
