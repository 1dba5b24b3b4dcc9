"""The benchmark harness (GitHub issue 7): `python -m bench --traders 10000 --posts 1000000`.

Not part of the application: nothing under config/, traders/, campaign/ or rewards/ imports it.
See bench/README.md.
"""
