"""Only the package list, which pyproject.toml cannot express: every retrograd* package (found as
[tool.setuptools.packages.find] did, folders without __init__.py included), plus the
benchmarks/ folder shipped inside the package as retrograd.benchmarks (mapped in pyproject.toml's
[tool.setuptools.package-dir]), so `retrograd bench` works from any install. All else is in pyproject.toml."""
from setuptools import find_namespace_packages, setup

setup(packages=find_namespace_packages(include=["retrograd", "retrograd.*"]) + ["retrograd.benchmarks"])
