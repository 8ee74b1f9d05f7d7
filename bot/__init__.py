"""The Telegram adapter and composition root: handlers, keyboards, wording, the `haru` CLI."""
