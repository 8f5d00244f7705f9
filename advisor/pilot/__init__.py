"""advisor.pilot.runner."""
