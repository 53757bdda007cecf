"""containerd configs: read (inspect), the keys kataview knows (schema), text edits (text), the
patch of one file (patch), a drop-in beside it (dropin), and which containerd runs (version)."""
