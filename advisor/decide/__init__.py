"""advisor.decide."""
