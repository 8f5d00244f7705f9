"""advisor.evaluation."""
