"""Sandboxes that run untrusted model-written code (``evalr.sandboxes`` entry points)."""
