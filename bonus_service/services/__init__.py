"""Service verbs: plain values in, plain values out, a session to write through."""
