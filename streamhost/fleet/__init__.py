"""Many streams over many machines on Ray: stream actors, placement, one HTTP front.

The fleet knows the engine; the engine, its stages and ``control/`` never import this package.
Needs the ``fleet`` extra (``pip install -e ".[fleet]"``: Ray).
"""
