"""The opt-in real local LLM tests (``make llm`` installs the model and llama-cpp-python)."""
