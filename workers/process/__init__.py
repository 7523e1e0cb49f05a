"""Process roles and what a process shares: runtime, broker, actors, outbox relay."""
