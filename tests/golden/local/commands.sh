#!/usr/bin/env bash
# The commands `pangeoctl up` runs, in order. Secrets are read from their references at run time.
set -euo pipefail

