"""PoreGuide's own Rasa input channels (listed by module path in credentials.yml): the website's
socket.io channel and demo page, Telegram and Slack. Each reads its settings from the environment
(`bot.channels.config`), so no secret is ever written into a committed file."""
