"""The Textual user interface. The only layer that imports textual."""
