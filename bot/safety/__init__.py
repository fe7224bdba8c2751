"""Safety: recognising messages about a bad reaction after a treatment (red flags)."""
