"""The names in domain.yml and actions/ that mark what the report counts. A test checks that each
one still exists in the domain, so a rename cannot silently zero a figure."""

from __future__ import annotations

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_ACTION = "action_default_fallback"

TREATMENT_ENTITY = "treatment"

RECOMMEND_ACTION = "action_recommend_treatments"
RECOMMENDED_SLOT = "recommended_treatment"
SEE_DOCTOR_FIRST_RESPONSE = "utter_see_dermatologist_first"

BOOKING_FORM = "booking_form"
CONSULTATION_OUTCOMES = {  # response the bot sent -> outcome of the consultation request
    "utter_consultation_confirmed": "stored",
    "utter_consultation_already_stored": "sent again (stored once)",
    "utter_consent_declined": "consent declined (nothing stored)",
    "utter_consultation_not_saved": "not saved (database down)",
}

RED_FLAG_INTENT = "report_red_flag"
RED_FLAG_ACTION = "action_handle_red_flag"
RED_FLAG_CLEARED_ACTION = "action_clear_red_flag"
RED_FLAG_LEVEL_SLOT = "red_flag_level"
MEDICAL_REFERRAL_ACTION = "action_medical_referral"
MEDICAL_REQUEST = "medical request"  # the audit trail's "level" for a medical referral

DOMAIN_NAMES = (
    RECOMMEND_ACTION,
    RECOMMENDED_SLOT,
    SEE_DOCTOR_FIRST_RESPONSE,
    BOOKING_FORM,
    *CONSULTATION_OUTCOMES,
    RED_FLAG_INTENT,
    RED_FLAG_ACTION,
    RED_FLAG_CLEARED_ACTION,
    TREATMENT_ENTITY,
    RED_FLAG_LEVEL_SLOT,
    MEDICAL_REFERRAL_ACTION,
)
