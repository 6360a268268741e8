"""Matrix: the bot owns a private, invite-only room per class (matrix-nio)."""

from adapters.matrix.platform import MatrixPlatform, matrix_platform_from_settings

__all__ = ["MatrixPlatform", "matrix_platform_from_settings"]
