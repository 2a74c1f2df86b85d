"""User-facing errors. Each one names the problem in a single line."""

from __future__ import annotations


class StyleAtlasError(Exception):
    """A problem the user can fix; the CLI prints it on one line and exits with code 2."""

    exit_code: int = 2


class InvalidInputError(StyleAtlasError, ValueError):
    """A bad parameter or bad data."""


class FetchUnavailableError(InvalidInputError):
    """A URL could not be fetched for a reason that may pass (timeout, refused connection, HTTP
    429 or 5xx): worth a retry, unlike a refused address or a page that is not an image."""


class InvalidImageError(InvalidInputError):
    """Bytes that are not a usable image (empty, truncated, not an image, too many pixels)."""


class MissingArtifactError(StyleAtlasError):
    """An artifact a step needs is absent; the message names the command that builds it."""


class WorkspaceError(StyleAtlasError):
    """The workspace path or its manifest is unusable."""


class UnknownBackboneError(InvalidInputError):
    """A backbone name that is not registered; the message lists the known ones."""


class MissingWeightsError(StyleAtlasError):
    """Pretrained weights are not on this machine; the message says where to put them."""


class CheckpointError(StyleAtlasError):
    """A checkpoint is corrupt or does not fit the model (the mismatch is named)."""


class ConfigurationError(StyleAtlasError):
    """A setting from the environment is missing or invalid (the message names the variable)."""


class StorageError(StyleAtlasError):
    """The annotations database cannot be used right now (locked, full or damaged)."""


class BusyError(StyleAtlasError):
    """The server is doing as much of this kind of work at once as it allows; try again shortly."""


class ComputeClusterError(StyleAtlasError):
    """Ray is not installed, or the Ray cluster named cannot be reached or used."""
