"""advisor: prompting, RAG or finetuning? Decide with numbers from your own data."""

__version__ = "0.1.0"
