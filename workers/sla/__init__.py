"""The SLA clock of a ticket and the scheduler's sweep that escalates missed targets."""
