"""Where the TUI's snapshots come from, and the UI's only door to kube/ and demo/: the source
protocol (base), the live cluster and the embedded demo (live), fixed snapshots (static), the
logging wrapper (logged), and the settings that pick and configure a source (settings)."""
