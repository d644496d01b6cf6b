"""Builds the Cython extensions of go_engine and lists the packages, with the top-level configs/
folder shipped inside the wheel as dpv/presets (dpv.config finds presets by name there) and
models/ as dpv/models (dpv.play.networks finds the shipped network there); the rest of the
metadata lives in pyproject.toml."""
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_namespace_packages, setup

COMPILER_DIRECTIVES = {
    "language_level": "3",
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
}

extensions = [
    Extension(
        f"go_engine.{path.stem}",
        [str(path)],
        include_dirs=[numpy.get_include()],
        extra_compile_args=["-O3"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for path in sorted(Path("go_engine").glob("*.pyx"))
]

setup(
    packages=[*find_namespace_packages(include=["dpv*", "go_engine*"]), "dpv.presets", "dpv.models"],
    package_dir={"dpv.presets": "configs", "dpv.models": "models"},
    package_data={"go_engine": ["*.pxd", "*.pyx"], "dpv.presets": ["*.yaml"], "dpv.models": ["*.pt", "*.md"]},
    ext_modules=cythonize(extensions, compiler_directives=COMPILER_DIRECTIVES),
)
