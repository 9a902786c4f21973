"""Reports rendered from run directories."""
