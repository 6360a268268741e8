"""Matrix: the bot owns a private, invite-only room per class (matrix-nio; see `platform`).

Nothing is imported here: `capabilities` is read by every command, and matrix-nio takes a
second to import; `bot.bootstrap` imports `platform` only when Matrix is configured."""
