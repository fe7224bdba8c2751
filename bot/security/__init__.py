"""Who may talk to PoreGuide's servers: the action server's shared token, the Rasa HTTP API's
token or JWT, and the browser origins allowed by CORS."""
