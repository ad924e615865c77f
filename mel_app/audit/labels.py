"""Words for what the trail records: entities, fields, enumeration values and actions.

Every audited column has a label here (a test checks it), so a history never shows a
programmer's name for a field. Labels are lazy: they are translated when a page renders them.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _gettext
from flask_babel import lazy_gettext as _l

from mel_app.enum_labels import LABELS


def gettext(message: str, **variables: Any) -> str:
    """Flask-Babel's gettext, which has no type hints, as what it returns: text."""
    return str(_gettext(message, **variables))


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
    "outcome_contributor": _l("Organisation that contributed to an outcome"),
    "outcome_statement": _l("Outcome statement"),
    "partner": _l("Partner organisation"),
    "project": _l("Project"),
    "project_country": _l("Project country"),
    "project_sector": _l("Project sector"),
    "project_tag": _l("ILO outcome or SDG target of the project"),
    "recommendation": _l("Recommendation"),
    "reporting_period": _l("Reporting period"),
    "result": _l("Result"),
    "result_tag": _l("ILO outcome or SDG target of the result"),
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
    "addressed_organisation_id": _l("Addressed to a partner organisation"),
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
    "time_zone": _l("Time zone"),
    "project_id": _l("Project"),
    "published_at": _l("Public since"),
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
    "scheme": _l("Which list"),
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
    "social_actor": _l("Who changed"),
    "change": _l("How they changed"),
    "changed_on": _l("When it changed"),
    "month_only": _l("Only the month is known"),
    "place": _l("Where"),
    "significance": _l("Why it matters"),
    "contribution": _l("How the project contributed"),
    "unexpected": _l("Unexpected"),
    "negative": _l("Negative"),
    "recorded_by_id": _l("Recorded by"),
    "outcome_id": _l("Outcome statement"),
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
    "user.create": _l("Account created"),
    "user.update": _l("Account changed"),
    "user.profile_update": _l("Profile changed"),
    "user.sessions_ended": _l("Signed out everywhere else"),
    "user.invitation_accepted": _l("Invitation accepted"),
    "user.reactivate": _l("Account reactivated"),
    "user.login_throttled": _l("Sign-in blocked after too many attempts"),
    "api_token.create": _l("Access token created"),
    "api_token.revoke": _l("Access token revoked"),
    "api_token.use": _l("Access token used"),
    # Reports and design input, and what belongs to them.
    "submission.create": _l("Started"),
    "submission.start": _l("Started"),
    "submission.update": _l("Changes saved"),
    "submission.save": _l("Draft saved"),
    "submission.submit": _l("Submitted for review"),
    "submission.return": _l("Returned for revision"),
    "submission.approve": _l("Approved"),
    "submission.reopen": _l("Reopened for changes"),
    "submission.withdraw": _l("Withdrawn"),
    "submission.comment": _l("Comment added"),
    "submission.respond": _l("Responses recorded"),
    "submission_version.create": _l("Submitted version kept"),
    "comment.create": _l("Comment added"),
    "comment.update": _l("Comment edited"),
    "comment.delete": _l("Comment deleted"),
    "attachment.create": _l("Evidence file attached"),
    "attachment.update": _l("Evidence file changed"),
    "attachment.delete": _l("Evidence file removed"),
    "indicator_value.create": _l("Value entered"),
    "indicator_value.update": _l("Value changed"),
    "indicator_value.delete": _l("Value removed"),
    "design_input_item.create": _l("Design input added"),
    "design_input_item.update": _l("Design input changed"),
    "design_input_item.delete": _l("Design input removed"),
    # Projects and their results frameworks.
    "project.create": _l("Project created"),
    "project.update": _l("Project details changed"),
    "project.approve_framework": _l("Results framework approved"),
    "project.publish": _l("Project dashboard made public"),
    "project.unpublish": _l("Project dashboard no longer public"),
    "project_country.create": _l("Country added"),
    "project_country.update": _l("Country share changed"),
    "project_country.delete": _l("Country removed"),
    "project_sector.create": _l("Sector added"),
    "project_sector.update": _l("Sector share changed"),
    "project_sector.delete": _l("Sector removed"),
    "project_tag.create": _l("ILO outcome or SDG target added"),
    "project_tag.delete": _l("ILO outcome or SDG target removed"),
    "result_tag.create": _l("ILO outcome or SDG target added to a result"),
    "result_tag.delete": _l("ILO outcome or SDG target removed from a result"),
    "membership.create": _l("Added to the project"),
    "membership.add": _l("Added to the project"),
    "membership.update": _l("Role in the project changed"),
    "membership.delete": _l("Removed from the project"),
    "membership.remove": _l("Removed from the project"),
    "partner.create": _l("Partner organisation added"),
    "outcome_statement.create": _l("Outcome recorded"),
    "outcome_statement.update": _l("Outcome changed"),
    "outcome_contributor.create": _l("Contributing organisation added to an outcome"),
    "outcome_contributor.delete": _l("Contributing organisation removed from an outcome"),
    "partner.delete": _l("Partner organisation removed"),
    "result.create": _l("Result added"),
    "result.update": _l("Result changed"),
    "result.delete": _l("Result deleted"),
    "result.archive": _l("Result removed from the framework"),
    "result.restore": _l("Result put back in the framework"),
    "result.import": _l("Result imported"),
    "indicator.create": _l("Indicator added"),
    "indicator.update": _l("Indicator changed"),
    "indicator.delete": _l("Indicator deleted"),
    "indicator.archive": _l("Indicator removed from the framework"),
    "indicator.restore": _l("Indicator put back in the framework"),
    "indicator.import": _l("Indicator imported"),
    "reporting_period.create": _l("Reporting period added"),
    "reporting_period.update": _l("Reporting period changed"),
    "reporting_period.delete": _l("Reporting period deleted"),
    "period.create": _l("Reporting period added"),
    "period.update": _l("Reporting period changed"),
    "period.delete": _l("Reporting period deleted"),
    "period.generate": _l("Reporting periods generated"),
    "organisation.create": _l("Organisation added"),
    "organisation.update": _l("Organisation changed"),
    # Evaluations.
    "evaluation.create": _l("Evaluation created"),
    "evaluation.update": _l("Evaluation changed"),
    "evaluation.open": _l("Evaluation opened"),
    "evaluation.close": _l("Evaluation closed"),
    "scorecard.create": _l("Scorecard created"),
    "scorecard.update": _l("Scorecard changed"),
    "scorecard.invite": _l("Invited to score"),
    "scorecard.save": _l("Scorecard saved"),
    "scorecard.submit": _l("Scorecard submitted"),
    "scorecard.reopen": _l("Scorecard reopened"),
    "score.create": _l("Score given"),
    "score.update": _l("Score changed"),
    "score.delete": _l("Score removed"),
    "recommendation.create": _l("Recommendation added"),
    "recommendation.update": _l("Recommendation changed"),
    "recommendation.delete": _l("Recommendation deleted"),
    "recommendation.respond": _l("Management response recorded"),
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


# Reasons the app itself records (in English, in the trail's data), read in the reader's language.
# A reason typed by a person is shown as it was typed.
SYSTEM_REASONS = {
    "created from the command line": _l("created from the command line"),
    "by an administrator": _l("by an administrator"),
    "by the user, elsewhere": _l("by the user, elsewhere"),
    "too many failures": _l("too many failures"),
    "too many wrong codes": _l("too many wrong codes"),
    "inactive account": _l("inactive account"),
    "bad credentials": _l("wrong email or password"),
    "wrong current password": _l("wrong current password"),
    "wrong recovery code": _l("wrong recovery code"),
    "wrong second-factor code": _l("wrong code from the authenticator app"),
    "with a recovery code": _l("with a recovery code"),
    "invitation accepted": _l("invitation accepted"),
}


def reason_label(reason: str | None) -> str | None:
    if reason is None:
        return None
    label = SYSTEM_REASONS.get(reason)
    return str(label) if label is not None else reason


def entity_label(entity_type: str | None) -> str:
    if not entity_type:
        return ""
    return str(ENTITY_LABELS.get(entity_type, entity_type.replace("_", " ").capitalize()))


def field_label(entity_type: str | None, field: str) -> str:
    """The label of the form that edits the field (the same words as the form), else the trail's."""
    from mel_app.audit.naming import form_label

    label = (
        form_label(entity_type, field)
        or FIELD_LABELS_BY_ENTITY.get((entity_type or "", field))
        or FIELD_LABELS.get(field)
    )
    return str(label) if label is not None else field.replace("_", " ").capitalize()


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action) or VERB_LABELS.get(action.rsplit(".", 1)[-1])
    return str(label) if label is not None else action
