"""The points economy: ledger, tiers, badges, leaderboards, rewards and redemptions."""
