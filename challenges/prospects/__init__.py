"""Finding and growing advocates (product.md §2, §13): advocacy scores imported from a CSV, the
candidates they make, invitations to the best of them, nominations by sales and staff, and the
funnel qualified → invited → joined → first approved act."""
