"""Put on PYTHONPATH by .ci/run: makes the packages named in $RETROGRAD_CI_BLOCKED (comma-separated) unimportable,
so a command runs as it would where those extras are not installed.

`sys.modules[name] = None` is Python's own way to block an import: `import matplotlib` raises
ModuleNotFoundError and importlib.util.find_spec("matplotlib") returns None, as when it is absent. The block
reaches subprocesses too, since they inherit PYTHONPATH and the variable.
"""
import os
import sys

for _name in filter(None, os.environ.get("RETROGRAD_CI_BLOCKED", "").split(",")):
    sys.modules[_name.strip()] = None
