"""Telegram: class groups run by the bot through python-telegram-bot v22 (see `platform`)."""
