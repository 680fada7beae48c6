"""The web pages, one module per area; each view reads through selectors and renders."""
