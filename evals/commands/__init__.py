"""The built-in ``evalr`` commands, one module per family; see ``evalr.cli``."""
