"""The knowledge base: one editable YAML file, validated and seeded into a SQL database."""
