"""The Kubernetes view of the wiring: chart values (:mod:`.values`) and where each pod runs (:mod:`.placement`)."""
