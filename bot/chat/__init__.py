"""The chat front end: the same command grammar, preview and confirmation, and replies on every
platform. Adapters translate their updates into `ChatFrontEnd` calls and its replies back."""
