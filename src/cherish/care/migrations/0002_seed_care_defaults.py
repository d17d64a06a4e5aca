"""Seed the care workflow's defaults: flows and checklists, targets, business hours,
gesture types, tone phrases and a few snippets. All editable in the admin afterwards.

Self-contained on purpose (no app imports): the texts are copied from care/workflow.py.
"""

from django.db import migrations

FLOWS = {'complaint': [('received',
                'Received',
                ['Read everything the customer has told us, on this case and earlier ones.',
                 'Check how they feel and whether anything is urgent.'],
                []),
               ('acknowledged',
                'Acknowledged',
                ['Acknowledge personally, by name — never “thank you for your inquiry”.',
                 'Reflect what they told you and say what happens next and by when.',
                 'Record the initial assessment: severity, complexity, impact, immediate '
                 'action.'],
                []),
               ('listening',
                'Listening',
                ['Tell them you understand how they feel.',
                 'Ask them to tell you more; listen patiently.',
                 'Restate the problem in their words.'],
                []),
               ('responding',
                'Responding',
                ['Apologise, and thank them for telling us.',
                 'Ask what they would consider fair — and record their answer.',
                 'Make a commitment: what, by when, how.'],
                []),
               ('recovering',
                'Recovering',
                ['Resolve the issue quickly and completely.',
                 'Keep every commitment, or tell them before it falls due.',
                 'Record the resolution.'],
                []),
               ('plus_one',
                '+1',
                ['Add something beyond putting it right: the +1.',
                 'Within your authority, just do it; above it, ask your lead in one click.'],
                []),
               ('following_up',
                'Following up',
                ['Check that the fix worked and that they are satisfied.',
                 'Record their answer — or why a check was not possible.'],
                ['resolution']),
               ('closed',
                'Closed',
                ['Tell them it is closed and that replying reopens it.'],
                ['resolution', 'follow_up'])],
 'inquiry': [('received',
              'Received',
              ['Read the question and anything they asked before.'],
              []),
             ('acknowledged',
              'Acknowledged',
              ['Let them know who is answering and by when.'],
              []),
             ('responding',
              'Answering',
              ['Answer fully and personally.', 'Answer the next question before they ask it.'],
              []),
             ('closed', 'Closed', ['They have a personal answer.'], ['personal_reply'])],
 'compliment': [('received', 'Received', ['Enjoy it — and see who they are praising.'], []),
                ('acknowledged',
                 'Thanked',
                 ['Thank them personally.', 'Pass the praise on to the people named.'],
                 []),
                ('closed',
                 'Closed',
                 ['They have been thanked by a person.'],
                 ['personal_reply'])],
 'suggestion': [('received', 'Received', ['Read the idea and what prompted it.'], []),
                ('acknowledged',
                 'Acknowledged',
                 ['Thank them for the idea.',
                  'Say what will happen with it and when they will hear.'],
                 []),
                ('responding', 'Responding', ['Tell them what was decided, and why.'], []),
                ('closed',
                 'Closed',
                 ['They know what became of their idea.'],
                 ['personal_reply'])]}

# (kind, severity) -> (first personal response, resolution) in business minutes (8-hour days).
TARGETS = {
    ("complaint", "critical"): (60, 480),
    ("complaint", "high"): (120, 960),
    ("complaint", "normal"): (240, 1440),
    ("complaint", "low"): (480, 2400),
    ("inquiry", "critical"): (120, 480),
    ("inquiry", "high"): (240, 960),
    ("inquiry", "normal"): (480, 960),
    ("inquiry", "low"): (960, 1920),
    ("compliment", "critical"): (480, 960),
    ("compliment", "high"): (480, 960),
    ("compliment", "normal"): (960, 1440),
    ("compliment", "low"): (960, 1440),
    ("suggestion", "critical"): (480, 2400),
    ("suggestion", "high"): (480, 2400),
    ("suggestion", "normal"): (960, 4800),
    ("suggestion", "low"): (960, 4800),
}

GESTURE_TYPES = [
    ("refund", "Refund", True),
    ("credit", "Account credit", True),
    ("voucher", "Voucher", True),
    ("replacement", "Replacement", True),
    ("free_extra", "A free extra", True),
    ("personal_note", "Personal note", False),
]

TONE_PHRASES = [
    ("our policy states", "Explain what you can do for them, and why, in your own words."),
    ("per our policy", "Explain what you can do for them, and why, in your own words."),
    ("as I already explained", "Let me put that more clearly."),
    ("as previously stated", "Let me put that more clearly."),
    ("as per my last email", "To pick up where we left off…"),
    ("you should have", "Next time it may help to… — and here is what I can do now."),
    ("you failed to", "It looks like … did not happen; let me sort that out."),
    ("unfortunately there is nothing", "Here is what I can do…"),
    ("there is nothing we can do", "Here is what I can do…"),
    ("that is not our fault", "I am sorry this happened; let me see how I can help."),
    ("it's not our fault", "I am sorry this happened; let me see how I can help."),
    ("calm down", "I understand how frustrating this is."),
    ("you must", "Could you…? It would help me to…"),
    ("we cannot accept responsibility", "I am sorry this happened; here is what I can do."),
    ("your complaint has been noted", "Thank you for telling us; here is what happens next."),
    ("thank you for your inquiry", "Thank them for telling you, and reflect what they said."),
]

SNIPPETS = [
    (
        "complaint",
        "Personal acknowledgement",
        "Dear {customer_first_name},\n\nI am {owner_first_name} and I will be looking after "
        "your case {reference} personally. I am sorry this happened, and thank you for telling "
        "us.\n\n[Say in your own words what they told you, and what happens next and by "
        "when.]\n\n{owner_first_name}",
    ),
    (
        "complaint",
        "What would be fair?",
        "Dear {customer_first_name},\n\nThank you for explaining what happened. I want to "
        "put this right for you: what would you consider a fair outcome?\n\n{owner_first_name}",
    ),
    (
        "",
        "Follow-up: did it work?",
        "Dear {customer_first_name},\n\nI wanted to check that everything is now as it "
        "should be with {reference}. Is there anything else I can do for you?\n\n"
        "{owner_first_name}",
    ),
]


def seed(apps, schema_editor):
    WorkflowStage = apps.get_model("care", "WorkflowStage")
    Target = apps.get_model("care", "Target")
    BusinessHours = apps.get_model("care", "BusinessHours")
    WorkingDay = apps.get_model("care", "WorkingDay")
    GestureType = apps.get_model("care", "GestureType")
    TonePhrase = apps.get_model("care", "TonePhrase")
    Snippet = apps.get_model("care", "Snippet")
    for kind, rows in FLOWS.items():
        for index, (stage, label, checklist, required) in enumerate(rows):
            WorkflowStage.objects.get_or_create(
                kind=kind,
                stage=stage,
                defaults={
                    "label": label,
                    "order": (index + 1) * 10,
                    "checklist": "\n".join(checklist),
                    "required": list(required),
                },
            )
    for (kind, severity), (first, resolution) in TARGETS.items():
        Target.objects.get_or_create(
            kind=kind,
            severity=severity,
            defaults={
                "first_response_business_minutes": first,
                "resolution_business_minutes": resolution,
                "source": "default",
            },
        )
    if not BusinessHours.objects.filter(team__isnull=True).exists():
        hours = BusinessHours.objects.create(team=None, time_zone="UTC")
        for weekday in range(5):
            WorkingDay.objects.create(hours=hours, weekday=weekday, start="09:00", end="17:00")
    for key, name, monetary in GESTURE_TYPES:
        GestureType.objects.get_or_create(
            key=key, defaults={"name": name, "is_monetary": monetary}
        )
    for phrase, suggestion in TONE_PHRASES:
        TonePhrase.objects.get_or_create(phrase=phrase, defaults={"suggestion": suggestion})
    for kind, title, body in SNIPPETS:
        Snippet.objects.get_or_create(title=title, defaults={"body": body, "kind": kind})


class Migration(migrations.Migration):
    dependencies = [("care", "0001_care_workflow")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
