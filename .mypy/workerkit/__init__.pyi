# Type-checking only, never imported: it makes .mypy/workerkit a package, so that mypy
# names the two symlinked stacks beside it workerkit.legacy and workerkit.simplified, the
# names pyproject.toml's package-dir installs them under. A full `mypy` run checks the
# real workerkit/__init__.py instead (a listed source); see [tool.mypy].
