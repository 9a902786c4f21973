"""Test doubles shipped with evalr: an OpenAI-compatible server for end-to-end checks."""
