"""Observed traffic against the policies: flow logs (Hubble's JSON export, a simple CSV) checked by the
engine (``netpolscan flows check``) and written as expectations (``netpolscan flows expectations``).

- :mod:`.records`: flows, endpoints, the log with its bad lines and skipped records;
- :mod:`.hubble`, :mod:`.csvlog`, :mod:`.read`: the two formats and reading a file;
- :mod:`.check`: matching pods to workloads, the verdict of each flow, the allow rules no flow used;
- :mod:`.output`: text and JSON; :mod:`.expectations`: an expectations file from the flows.
"""
