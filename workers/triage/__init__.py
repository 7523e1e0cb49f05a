"""Triage in the store: facts, the rules and model in force, decisions kept, replay."""
