"""PoreGuide custom actions, run by `rasa run actions`; each module covers one concern."""

from bot.action_server import register_plugin

# rasa_sdk imports this package while building its app, before it starts listening: the token
# check, the loopback default and the timeouts apply to `rasa run actions` as well as the launcher.
register_plugin()
