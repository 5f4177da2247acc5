"""Files of a project: storages that hold them, data managers that read and write frames."""

__all__: list[str] = []
