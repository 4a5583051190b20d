"""Test helpers that are real parts: a local OpenAI-protocol server that can inject faults."""
