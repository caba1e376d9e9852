"""One validator per module; each registers itself by the name specs use."""
