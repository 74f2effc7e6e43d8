"""Nothing is compiled here: the package calls the libconv1d that `make` built. An installed copy
(`pip install ./python`, `make python`) records the source tree it came from, so that it finds that tree's
build/lib/libconv1d.so without CONV1D_LIB (conv1d_tune/_lib.py says where it looks)."""
import os

from setuptools import setup
from setuptools.command.build_py import build_py

TREE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class BuildPyRecordingTree(build_py):
    def run(self):
        super().run()
        if os.path.isfile(os.path.join(TREE, "include", "conv1d.h")):  # a real checkout, not an sdist copy
            with open(os.path.join(self.build_lib, "conv1d_tune", "_source_tree.py"), "w") as f:
                f.write(f"# Written at install time by setup.py.\nSOURCE_TREE = {TREE!r}\n")


setup(cmdclass={"build_py": BuildPyRecordingTree})
