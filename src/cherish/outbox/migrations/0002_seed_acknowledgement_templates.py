"""Seed the acknowledgement texts managers can then edit in the admin."""

from django.db import migrations

TEMPLATES = [
    (
        "ack.complaint",
        "Acknowledgement of a new complaint",
        "I have your message and I am looking after it personally",
        "Dear {customer_name},\n\n"
        "I am {owner_name}, and I will personally look after what you told us:\n\n"
        "    “{excerpt}”\n\n"
        "I am sorry you had this experience. {next_step}\n\n"
        "You can see where things stand, add anything you forgot, or send photos here:\n"
        "{case_link}\n\n"
        "Your reference is {reference}. Simply reply to this email to reach me.\n\n"
        "{owner_name}\n{org_name}",
    ),
    (
        "ack.inquiry",
        "Acknowledgement of a new question",
        "Your question",
        "Hello {customer_name},\n\n"
        "You asked: “{excerpt}”\n\n"
        "{next_step}\n\n"
        "Follow it here: {case_link} (reference {reference}).\n\n"
        "{owner_name}\n{org_name}",
    ),
    (
        "ack.compliment",
        "Thanks for a compliment",
        "Thank you for your kind words",
        "Dear {customer_name},\n\n"
        "Thank you so much for taking the time to tell us:\n\n"
        "    “{excerpt}”\n\n"
        "{next_step}\n\n"
        "{owner_name}\n{org_name}\n\n"
        "Reference {reference} · {case_link}",
    ),
    (
        "ack.suggestion",
        "Thanks for a suggestion",
        "Thank you for your idea",
        "Dear {customer_name},\n\n"
        "Thank you for your suggestion:\n\n"
        "    “{excerpt}”\n\n"
        "{next_step}\n\n"
        "You can follow it here: {case_link} (reference {reference}).\n\n"
        "{owner_name}\n{org_name}",
    ),
]


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("outbox", "MessageTemplate")
    for key, description, subject, body in TEMPLATES:
        MessageTemplate.objects.get_or_create(
            key=key, defaults={"description": description, "subject": subject, "body": body}
        )


def unseed(apps, schema_editor):
    MessageTemplate = apps.get_model("outbox", "MessageTemplate")
    MessageTemplate.objects.filter(key__in=[t[0] for t in TEMPLATES]).delete()


class Migration(migrations.Migration):
    dependencies = [("outbox", "0001_outbox_emails_webhooks_templates")]

    operations = [migrations.RunPython(seed, unseed)]
