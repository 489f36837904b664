"""Community Q&A: questions, answers, upvotes, acceptance and moderation."""
