"""Consultation requests: a patient's contact details, validated and stored so staff can call back."""
