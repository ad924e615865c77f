"""Words for what the trail records: entities, fields, enumeration values and actions.

Every audited column has a label here (a test checks it), so a history never shows a
programmer's name for a field. Labels are lazy: they are translated when a page renders them.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from mel_app.enum_labels import LABELS

ENTITY_LABELS = {
    "attachment": _l("Evidence file"),
    "comment": _l("Comment"),
    "criteria_set": _l("Criteria set"),
    "criterion": _l("Criterion"),
    "design_input_item": _l("Design input item"),
    "evaluation": _l("Evaluation"),
    "indicator": _l("Indicator"),
    "indicator_value": _l("Indicator value"),
    "membership": _l("Project membership"),
    "notification_preference": _l("E-mail notification choice"),
    "organisation": _l("Organisation"),
    "partner": _l("Partner organisation"),
    "project": _l("Project"),
    "project_country": _l("Project country"),
    "project_sector": _l("Project sector"),
    "recommendation": _l("Recommendation"),
    "reporting_period": _l("Reporting period"),
    "result": _l("Result"),
    "scale": _l("Scale"),
    "scale_point": _l("Scale point"),
    "score": _l("Score"),
    "scorecard": _l("Scorecard"),
    "submission": _l("Submission"),
    "submission_version": _l("Submitted version"),
    "user": _l("User account"),
}

# Column names mean the same in every table, with a few exceptions below.
FIELD_LABELS = {
    "report_reminder_days": _l("Report reminders, days before the due date"),
    "acronym": _l("Acronym"),
    "action_status": _l("Action status"),
    "addressed_to": _l("Addressed to"),
    "approved_at": _l("Approved on"),
    "approved_by_id": _l("Approved by"),
    "ascending": _l("Higher is better"),
    "author_id": _l("Author"),
    "baseline_comment": _l("Baseline comment"),
    "baseline_date": _l("Baseline date"),
    "baseline_value": _l("Baseline value"),
    "body": _l("Text"),
    "cannot_assess": _l("Cannot assess"),
    "closed_at": _l("Closed on"),
    "closed_by_id": _l("Closed by"),
    "code": _l("Code"),
    "comment": _l("Comment"),
    "content": _l("Content"),
    "country": _l("Country"),
    "created_at": _l("Created on"),
    "created_by_id": _l("Created by"),
    "criteria_set_id": _l("Criteria set"),
    "criterion_id": _l("Criterion"),
    "deadline": _l("Deadline"),
    "description": _l("Description"),
    "disaggregate_by_sex": _l("Women and men counted separately"),
    "disposition": _l("Response"),
    "donor": _l("Donor"),
    "due_date": _l("Due date"),
    "email": _l("Email"),
    "end_date": _l("End date"),
    "evaluation_id": _l("Evaluation"),
    "evidence": _l("Evidence"),
    "filename": _l("File name"),
    "framework_approved": _l("Results framework approved"),
    "framework_approved_at": _l("Results framework approved on"),
    "full_name": _l("Full name"),
    "funding_modality": _l("Funding modality"),
    "group": _l("Constituent group"),
    "guiding_question": _l("Guiding question"),
    "id": _l("Number"),
    "indicator_id": _l("Indicator"),
    "is_active": _l("Active"),
    "is_admin": _l("Administrator"),
    "is_archived": _l("Archived"),
    "is_default": _l("Default"),
    "is_deleted": _l("Removed"),
    "is_demo": _l("Demo account"),
    "is_fictional": _l("Fictional"),
    "justification": _l("Justification"),
    "kind": _l("Kind"),
    "label": _l("Label"),
    "last_edited_by_id": _l("Last edited by"),
    "last_edited_at": _l("Last edited on"),
    "last_login_at": _l("Last sign-in"),
    "means_of_verification": _l("Means of verification"),
    "measure": _l("Measure"),
    "media_type": _l("File type"),
    "men": _l("Men"),
    "name": _l("Name"),
    "narrative": _l("Narrative"),
    "not_reported": _l("Not reported"),
    "number": _l("Version number"),
    "opened_at": _l("Opened on"),
    "opened_by_id": _l("Opened by"),
    "organisation_id": _l("Organisation"),
    "parent_id": _l("Parent"),
    "period_id": _l("Reporting period"),
    "phase": _l("Phase"),
    "planned_action": _l("Planned action"),
    "point": _l("Score"),
    "position": _l("Position"),
    "preferred_language": _l("Language"),
    "project_id": _l("Project"),
    "reference": _l("ILO reference"),
    "responded_at": _l("Responded on"),
    "responded_by_id": _l("Responded by"),
    "response": _l("Management response"),
    "response_reason": _l("Reason for the response"),
    "responsible_organisation_id": _l("Responsible organisation"),
    "result_id": _l("Result"),
    "returned_at": _l("Returned on"),
    "returned_by_id": _l("Returned by"),
    "role": _l("Role"),
    "rubric": _l("Description"),
    "scale_id": _l("Scale"),
    "scorecard_id": _l("Scorecard"),
    "scorer_id": _l("Scorer"),
    "section": _l("Section"),
    "sha256": _l("Fingerprint (SHA-256)"),
    "size": _l("Size (bytes)"),
    "start_date": _l("Start date"),
    "status": _l("Status"),
    "submission_id": _l("Submission"),
    "submitted_at": _l("Submitted on"),
    "submitted_by_id": _l("Submitted by"),
    "summary": _l("Summary"),
    "target_comment": _l("Target comment"),
    "target_date": _l("Target date"),
    "target_value": _l("Target value"),
    "text": _l("Text"),
    "text_value": _l("Answer"),
    "title": _l("Title"),
    "totp_enabled_at": _l("Two-factor sign-in turned on"),
    "type": _l("Type"),
    "unit": _l("Unit"),
    "updated_at": _l("Last changed on"),
    "uploaded_by_id": _l("Uploaded by"),
    "user_id": _l("User"),
    "value": _l("Value"),
    "version": _l("Edit number"),
    "visibility": _l("Visible to"),
    "women": _l("Women"),
    "aggregation": _l("How the organisations' reports make the project's figure"),
    "budget_amount": _l("Planned budget"),
    "budget_currency": _l("Currency"),
    "donor_iati_ref": _l("Donor's IATI organisation identifier"),
    "donor_iati_type": _l("Donor's organisation type"),
    "iati_ref": _l("IATI organisation identifier"),
    "iati_type": _l("IATI organisation type"),
}
FIELD_LABELS_BY_ENTITY = {
    ("project_sector", "percentage"): _l("Share of the sector"),
    ("project_country", "percentage"): _l("Share of the country"),
    ("scale_point", "value"): _l("Points"),
    ("design_input_item", "result_id"): _l("Result it refers to"),
    ("design_input_item", "indicator_id"): _l("Indicator it refers to"),
    ("result", "parent_id"): _l("Parent result"),
    ("organisation", "parent_id"): _l("Parent organisation"),
    ("recommendation", "due_date"): _l("Action due date"),
    ("notification_preference", "mode"): _l("E-mail"),
}

NARRATIVE_LABELS = {
    "achievements": _l("Achievements"),
    "challenges": _l("Challenges"),
    "lessons_learned": _l("Lessons learned"),
    "next_steps": _l("Next steps"),
    "gender_equality": _l("Gender equality"),
    "social_dialogue": _l("Social dialogue"),
}

# Enumeration values read as every other page reads them.
ENUM_LABELS = LABELS

# Actions by their full name, then by their verb (the part after the last dot).
ACTION_LABELS = {
    "audit.download": _l("Audit trail downloaded"),
    "evidence.infected": _l("Infected file refused"),
    "export.download": _l("Data downloaded"),
    "outbox.resend": _l("Outgoing e-mail queued again"),
    "user.create_admin": _l("Administrator account created"),
    "user.login": _l("Signed in"),
    "user.login_failed": _l("Sign-in refused"),
    "user.logout": _l("Signed out"),
    "user.password_change": _l("Password changed"),
    "user.password_change_refused": _l("Password change refused"),
    "user.password_reset": _l("Password reset"),
    "user.deactivate": _l("Account deactivated"),
    "user.invite": _l("Invited"),
    "user.two_factor_setup_started": _l("Two-factor sign-in set-up started"),
    "user.two_factor_enabled": _l("Two-factor sign-in turned on"),
    "user.two_factor_disabled": _l("Two-factor sign-in turned off"),
    "user.two_factor_reset": _l("Two-factor sign-in reset"),
    "user.recovery_codes_issued": _l("New recovery codes created"),
}
VERB_LABELS = {
    "add": _l("Added"),
    "approve": _l("Approved"),
    "close": _l("Closed"),
    "create": _l("Created"),
    "delete": _l("Deleted"),
    "download": _l("Downloaded"),
    "edit": _l("Edited"),
    "open": _l("Opened"),
    "remove": _l("Removed"),
    "reopen": _l("Reopened"),
    "respond": _l("Responded"),
    "return": _l("Returned for revision"),
    "save": _l("Saved"),
    "submit": _l("Submitted"),
    "update": _l("Changed"),
    "upload": _l("Uploaded"),
    "withdraw": _l("Withdrawn"),
}


def entity_label(entity_type: str | None) -> str:
    if not entity_type:
        return ""
    return str(ENTITY_LABELS.get(entity_type, entity_type.replace("_", " ").capitalize()))


def field_label(entity_type: str | None, field: str) -> str:
    label = FIELD_LABELS_BY_ENTITY.get((entity_type or "", field)) or FIELD_LABELS.get(field)
    return str(label) if label is not None else field.replace("_", " ").capitalize()


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action) or VERB_LABELS.get(action.rsplit(".", 1)[-1])
    return str(label) if label is not None else action
