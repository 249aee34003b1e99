"""The steps of `make package` (infra/package.py): run `chalice package`, slim the artifact, prove
it by importing it, check the merged template."""
