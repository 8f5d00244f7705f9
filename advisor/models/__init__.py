"""advisor.models.hf."""
