"""streamhost: a real-time AI livestream host engine."""

import os as _os

# numpy's bundled OpenBLAS starts one worker per core that busy-waits between calls: with the
# small matrix products of the host's drawing and the voice's DSP it burned a whole core of a
# 2-core machine doing nothing. The AV stages are parallel across threads already; BLAS inside
# them must not be. Set before numpy is first imported (every entry point imports this package
# first); a user's own setting wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
