"""The words of the built-in surveys (migration 0002), marked for translation.

Survey names, intros, thanks, questions and choices are data managers may reword in the
admin. Pages and emails pass each through gettext: a text still as seeded is shown in the
customer's language; a reworded one is shown as the manager wrote it.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

BUILTIN_TEXTS = [
    # After a case
    gettext_noop("After a case"),
    gettext_noop("Your case is closed. Two minutes of your time tell us whether we got it right."),
    gettext_noop("Thank you. We read every answer, and we will be in touch if anything is wrong."),
    gettext_noop("How satisfied are you with the way we handled your case?"),
    gettext_noop("Is your problem resolved?"),
    gettext_noop("Partly"),
    gettext_noop("The outcome was fair."),
    gettext_noop("The person who helped me cared about me."),
    gettext_noop("Will you stay with us?"),
    gettext_noop("Not sure"),
    gettext_noop("Anything else? If someone helped you well, tell us their name."),
    # Relationship
    gettext_noop("Relationship"),
    gettext_noop("How do you feel about us? Your honest answers help us earn your trust."),
    gettext_noop("Thank you for telling us how you feel about us."),
    gettext_noop("How likely are you to recommend us to a friend or colleague?"),
    gettext_noop("This company is perfect for people like me."),
    gettext_noop("I can't imagine a world without this company."),
    gettext_noop("I can always trust this company to keep its promises."),
    gettext_noop("This company always treats me fairly."),
    gettext_noop("I am proud to be a customer of this company."),
    gettext_noop("Being their customer makes me feel better about myself."),
    gettext_noop("Anything else you would like to tell us?"),
    # Expectations
    gettext_noop("Expectations"),
    gettext_noop("Help us set our promises by your clock, not ours."),
    gettext_noop("Thank you. We use these answers to set our own targets."),
    gettext_noop("When you complain, how many days should it take us to put things right?"),
    gettext_noop("How many days should a refund take?"),
    gettext_noop("How many days should a repair take?"),
    gettext_noop("Anything else you expect from us?"),
    gettext_noop("days"),
    # Scales (feedback.queries)
    gettext_noop("Very dissatisfied"),
    gettext_noop("Dissatisfied"),
    gettext_noop("Neither"),
    gettext_noop("Satisfied"),
    gettext_noop("Very satisfied"),
    gettext_noop("Strongly disagree"),
    gettext_noop("Disagree"),
    gettext_noop("Agree"),
    gettext_noop("Strongly agree"),
    gettext_noop("Not at all likely"),
    gettext_noop("Extremely likely"),
]
