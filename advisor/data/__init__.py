"""advisor.data.load."""
