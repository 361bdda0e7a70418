import wirecopy


def test_exported_members():
    """The public surface is exactly the documented names."""
    assert sorted(wirecopy.__all__) == sorted(
        [
            "Assignment", "ClusterConfig", "ClusterResult", "ConfigError", "Document", "DuplicateIdError", "Explanation", "FieldMap", "StoryIndex",
            "FormatError", "IndexBusyError", "IndexDamagedError", "InputError", "MissingDependencyError", "StorageError", "SkipReport", "Skipped", "Story", "WirecopyError",
            "__version__", "cluster", "dedup", "explain", "read",
        ]
    )
    for name in wirecopy.__all__:
        assert hasattr(wirecopy, name), name


def test_errors_refine_builtins():
    """Every error is a WirecopyError and the built-in it refines."""
    assert issubclass(wirecopy.InputError, ValueError)
    assert issubclass(wirecopy.ConfigError, ValueError)
    assert issubclass(wirecopy.DuplicateIdError, wirecopy.InputError)
    assert issubclass(wirecopy.MissingDependencyError, ImportError)
    assert issubclass(wirecopy.StorageError, OSError) and issubclass(wirecopy.IndexDamagedError, wirecopy.StorageError)
    assert issubclass(wirecopy.IndexBusyError, TimeoutError)
    for cls in (wirecopy.InputError, wirecopy.ConfigError, wirecopy.FormatError, wirecopy.MissingDependencyError, wirecopy.StorageError, wirecopy.IndexBusyError):
        assert issubclass(cls, wirecopy.WirecopyError)
