"""Hand-offs to other help desks: planning, payloads, delivery attempts, and the desk clients."""
