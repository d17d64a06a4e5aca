"""The three built-in surveys, switched on, and the survey policy (idempotent).

The wording follows the seeds: satisfaction with complaint handling, NPS, the two "raving
fan" statements and Gallup's four loyalty levels (seed 000), and what customers expect.
Managers reword or switch them off in the admin; figures follow each question's measure.
"""

from django.db import migrations

AGREE = "agreement"
SURVEYS = [
    {
        "key": "after-case",
        "name": "After a case",
        "purpose": "after_case",
        "case_kinds": ["complaint", "inquiry"],
        "intro": "Your case is closed. Two minutes of your time tell us whether we got it right.",
        "thanks": "Thank you. We read every answer, and we will be in touch if anything is wrong.",
        "every_days": 0,
        "questions": [
            ("How satisfied are you with the way we handled your case?", "satisfaction",
             "csat", [], True),
            ("Is your problem resolved?", "choice", "resolved", ["Yes", "Partly", "No"], False),
            ("The outcome was fair.", AGREE, "fair", [], False),
            ("The person who helped me cared about me.", AGREE, "cared", [], False),
            ("Will you stay with us?", "choice", "would_stay", ["Yes", "Not sure", "No"], False),
            ("Anything else? If someone helped you well, tell us their name.", "text", "comment",
             [], False),
        ],
    },
    {
        "key": "relationship",
        "name": "Relationship",
        "purpose": "relationship",
        "case_kinds": [],
        "intro": "How do you feel about us? Your honest answers help us earn your trust.",
        "thanks": "Thank you for telling us how you feel about us.",
        "every_days": 180,
        "questions": [
            ("How likely are you to recommend us to a friend or colleague?", "likelihood",
             "nps", [], True),
            ("This company is perfect for people like me.", AGREE, "raving_perfect", [], False),
            ("I can't imagine a world without this company.", AGREE, "raving_world", [], False),
            ("I can always trust this company to keep its promises.", AGREE,
             "loyalty_confidence", [], False),
            ("This company always treats me fairly.", AGREE, "loyalty_fairness", [], False),
            ("I am proud to be a customer of this company.", AGREE, "loyalty_pride", [], False),
            ("Being their customer makes me feel better about myself.", AGREE,
             "loyalty_passion", [], False),
            ("Anything else you would like to tell us?", "text", "comment", [], False),
        ],
    },
    {
        "key": "expectations",
        "name": "Expectations",
        "purpose": "expectations",
        "case_kinds": [],
        "intro": "Help us set our promises by your clock, not ours.",
        "thanks": "Thank you. We use these answers to set our own targets.",
        "every_days": 365,
        "questions": [
            ("When you complain, how many days should it take us to put things right?",
             "number", "expect_complaint_days", [], True),
            ("How many days should a refund take?", "number", "expect_refund_days", [], False),
            ("How many days should a repair take?", "number", "expect_repair_days", [], False),
            ("Anything else you expect from us?", "text", "comment", [], False),
        ],
    },
]


def seed(apps, schema_editor):
    Survey = apps.get_model("feedback", "Survey")
    Question = apps.get_model("feedback", "Question")
    SurveyPolicy = apps.get_model("feedback", "SurveyPolicy")
    SurveyPolicy.objects.get_or_create(pk=1)
    for spec in SURVEYS:
        survey, created = Survey.objects.get_or_create(
            key=spec["key"],
            defaults={
                "name": spec["name"],
                "purpose": spec["purpose"],
                "case_kinds": spec["case_kinds"],
                "intro": spec["intro"],
                "thanks": spec["thanks"],
                "every_days": spec["every_days"],
            },
        )
        if not created:
            continue
        for order, (text, type_, measure, choices, required) in enumerate(spec["questions"]):
            Question.objects.create(
                survey=survey,
                order=order,
                text=text,
                type=type_,
                measure=measure,
                choices=choices,
                required=required,
                min_value=0,
                max_value=365,
                unit="days" if type_ == "number" else "",
            )


class Migration(migrations.Migration):
    dependencies = [("feedback", "0001_surveys_answers_loyalty")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
