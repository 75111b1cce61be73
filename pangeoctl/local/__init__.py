"""The local platform's processes (:mod:`.platform`) and its fixed hub and gateway config modules, which read
the data file :class:`pangeoctl.targets.local.LocalTarget` plans."""
