"""Science helpers the example notebooks import. Nothing here imports the deployer.

- :mod:`pangeoctl.geo.insar` — interferogram networks and the small-baseline (SBAS) time-series inversion.
- :mod:`pangeoctl.geo.hyp3` — ASF HyP3 InSAR products as one lazy stack for the inversion.
- :mod:`pangeoctl.geo.sample_data` — synthetic stacks with known truth, for tests and offline notebooks.
"""
