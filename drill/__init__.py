"""The fault drill (``make drill``): certdesk on a local stack of its own, faults injected."""
