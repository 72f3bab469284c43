"""`python3 -m unittest` run inside bindings/python discovers this package:
its modules import their helpers as top-level modules (`_support`, as
`make test-python` runs them with tests/ on the path), so tests/ goes on
sys.path here. The library is found as the package finds it (sonde._lib):
after `make`, the source tree's build/libsonde.so.0."""

import os
import sys

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
