"""Desk pages for learning: themes, rising themes, root causes. Parse, call, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cherish.cases.access import (
    access_case,
    access_case_to_work,
    check_may_work,
    visible_cases,
)
from cherish.core.errors import CherishError, NotFound
from cherish.desk.guard import DeskRequest, desk_view
from cherish.learning import access, actions, queries
from cherish.learning.forms import (
    ActionForm,
    CirculateForm,
    FindingForm,
    LinkCaseForm,
    MergeThemeForm,
    PolicyForm,
    PolicyTagForm,
    RenameThemeForm,
    StoryForm,
)
from cherish.learning.models import CaseFinding, CaseTheme, ImprovementAction, PolicyLinkSource


def _back(request: HttpRequest, error: CherishError, fallback: str, *args: Any) -> HttpResponse:
    messages.error(request, error.message)
    return redirect(fallback, *args)


# ---------------------------------------------------------------- themes


@require_GET
@desk_view
def index(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    return render(
        request,
        "learning/index.html",
        {
            "overview": queries.themes_overview(),
            "rising": queries.rising_themes()[:10],
            "model": queries.latest_model(),
            "may_shape": access.may_shape_learning(staff),
        },
    )


@require_GET
@desk_view
def theme_detail(request: DeskRequest, theme_id: int) -> HttpResponse:
    staff = request.staff
    theme = access.access_theme(staff, theme_id)
    return render(
        request,
        "learning/theme_detail.html",
        {
            "theme": theme,
            "trend": queries.weekly_trend(theme),
            "quotes": queries.theme_quotes(theme, viewer=staff),
            "assignments": queries.theme_cases(theme, viewer=staff),
            "may_shape": access.may_shape_learning(staff),
            "rename_form": RenameThemeForm(
                initial={"name": theme.name, "description": theme.description}
            ),
            "merge_form": _merge_form(theme),
        },
    )


def _merge_form(theme: Any) -> MergeThemeForm:
    form = MergeThemeForm()
    field = form.fields["into"]
    field.queryset = field.queryset.exclude(pk=theme.pk)  # type: ignore[attr-defined]
    return form


@require_POST
@desk_view
def rename_theme(request: DeskRequest, theme_id: int) -> HttpResponse:
    staff = request.staff
    theme = access.access_active_theme(staff, theme_id)
    access.require_shaper(staff)
    form = RenameThemeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the theme a name of at most 200 characters."))
        return redirect("learning:theme", theme.pk)
    try:
        actions.rename_theme(theme, by=staff, **form.cleaned_data)
    except CherishError as error:
        return _back(request, error, "learning:theme", theme.pk)
    messages.success(request, _("Theme renamed. Re-clustering will keep this name."))
    return redirect("learning:theme", theme.pk)


@require_POST
@desk_view
def merge_theme(request: DeskRequest, theme_id: int) -> HttpResponse:
    staff = request.staff
    theme = access.access_active_theme(staff, theme_id)
    access.require_shaper(staff)
    form = MergeThemeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the theme to merge into."))
        return redirect("learning:theme", theme.pk)
    try:
        into = actions.merge_themes(theme, into=form.cleaned_data["into"], by=staff)
    except CherishError as error:
        return _back(request, error, "learning:theme", theme.pk)
    messages.success(request, _("Merged into “%(name)s”.") % {"name": into.name})
    return redirect("learning:theme", into.pk)


@require_POST
@desk_view
def split_theme(request: DeskRequest, theme_id: int) -> HttpResponse:
    staff = request.staff
    theme = access.access_active_theme(staff, theme_id)
    access.require_shaper(staff)
    try:
        first, second = actions.split_theme(theme, by=staff)
    except CherishError as error:
        return _back(request, error, "learning:theme", theme.pk)
    messages.success(
        request,
        _("Split into “%(first)s” and “%(second)s”. Rename them.")
        % {"first": first.name, "second": second.name},
    )
    return redirect("learning:theme", first.pk)


@require_POST
@desk_view
def recluster(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    access.require_shaper(staff)
    result = actions.recluster_themes()
    if result.model is None:
        messages.info(request, _("There are not enough complaints to find themes yet."))
    else:
        messages.success(
            request,
            _(
                "Themes found again in %(n)s complaints: %(created)s new, %(kept)s kept, "
                "%(retired)s retired."
            )
            % {
                "n": result.model.n_texts,
                "created": result.created,
                "kept": result.kept,
                "retired": result.retired,
            },
        )
    return redirect("learning:index")


# ---------------------------------------------------------------- root cause of a case


@require_http_methods(["GET", "POST"])
@desk_view
def case_finding(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case(staff, reference)
    finding = CaseFinding.objects.filter(case=case).select_related("root_cause").first()
    if request.method == "POST":
        check_may_work(staff, case)
        form = FindingForm(request.POST)
        if form.is_valid():
            try:
                actions.record_finding(case, by=staff, **form.cleaned_data)
            except CherishError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Root cause recorded."))
                return redirect("learning:case-finding", case.reference)
    else:
        initial = {}
        if finding is not None:
            initial = {
                "root_cause": finding.root_cause,
                "leak_step": finding.leak_step,
                "communication": finding.communication,
                "communication_note": finding.communication_note,
                "note": finding.note,
            }
        form = FindingForm(initial=initial)
    return render(
        request,
        "learning/case_finding.html",
        {
            "case": case,
            "form": form,
            "finding": finding,
            "assignment": CaseTheme.objects.filter(case=case).select_related("theme").first(),
            "policy_form": PolicyTagForm(),
            "policy_links": case.policy_links.select_related("policy"),
        },
    )


# ---------------------------------------------------------------- what complaints reveal


@require_GET
@desk_view
def reveal(request: DeskRequest) -> HttpResponse:
    return render(
        request,
        "learning/reveal.html",
        {
            "policies": queries.policies_causing_pain()[:20],
            "communications": queries.communications_wrong(viewer=request.staff),
            "training": queries.training_needs(viewer=request.staff),
            "competitors": queries.competitor_mentions(viewer=request.staff),
            "days": queries.REVEAL_DAYS,
        },
    )


# ---------------------------------------------------------------- policy register


@require_GET
@desk_view
def policies(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    return render(
        request,
        "learning/policies.html",
        {
            "register": queries.policy_register(),
            "may_shape": access.may_shape_learning(staff),
            "form": PolicyForm(),
        },
    )


@require_http_methods(["GET", "POST"])
@desk_view
def policy_detail(request: DeskRequest, policy_id: int) -> HttpResponse:
    staff = request.staff
    policy = access.access_policy(staff, policy_id)
    form = PolicyForm(
        initial={
            "title": policy.title,
            "summary": policy.summary,
            "owner": policy.owner,
            "review_by": policy.review_by,
            "phrases": policy.phrases,
            "is_active": policy.is_active,
        }
    )
    if request.method == "POST":
        access.require_shaper(staff)
        form = PolicyForm(request.POST)
        if form.is_valid():
            try:
                actions.save_policy(policy, by=staff, **form.cleaned_data)
            except CherishError as error:
                form.add_error(error.field, error.message)
            else:
                messages.success(request, _("Policy saved."))
                return redirect("learning:policy", policy.pk)
    return render(
        request,
        "learning/policy_detail.html",
        {
            "policy": policy,
            "links": queries.policy_cases(policy, viewer=staff),
            "form": form,
            "may_shape": access.may_shape_learning(staff),
        },
    )


@require_POST
@desk_view
def policy_new(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    access.require_shaper(staff)
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            policy = actions.save_policy(None, by=staff, **form.cleaned_data)
        except CherishError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("Policy added to the register."))
            return redirect("learning:policy", policy.pk)
    return render(
        request,
        "learning/policies.html",
        {"register": queries.policy_register(), "may_shape": True, "form": form},
        status=400,
    )


@require_POST
@desk_view
def case_policy(request: DeskRequest, reference: str) -> HttpResponse:
    staff = request.staff
    case = access_case_to_work(staff, reference)
    form = PolicyTagForm(request.POST)
    if form.is_valid():
        actions.link_policy(
            case, policy=form.cleaned_data["policy"], by=staff, source=PolicyLinkSource.TAGGED
        )
        messages.success(request, _("Complaint linked to the policy."))
    else:
        messages.error(request, _("Choose a policy from the list."))
    return redirect("learning:case-finding", case.reference)


# ---------------------------------------------------------------- improvement actions


def _action_initial(action: ImprovementAction) -> dict[str, Any]:
    return {
        "title": action.title,
        "description": action.description,
        "theme": action.theme,
        "policy": action.policy,
        "owner": action.owner,
        "due_date": action.due_date,
        "status": action.status,
        "you_said": action.you_said,
        "we_did": action.we_did,
    }


@require_GET
@desk_view
def improvement_actions(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    rows = queries.actions_list(status=request.GET.get("status", ""))
    initial: dict[str, Any] = {}
    if request.GET.get("theme"):
        initial["theme"] = request.GET["theme"]
    if request.GET.get("policy"):
        initial["policy"] = request.GET["policy"]
    return render(
        request,
        "learning/actions.html",
        {
            "rows": list(zip(rows, queries.effectiveness_many(rows), strict=True)),
            "may_shape": access.may_shape_learning(staff),
            "form": ActionForm(initial=initial),
        },
    )


@require_POST
@desk_view
def action_new(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    access.require_shaper(staff)
    form = ActionForm(request.POST)
    if form.is_valid():
        try:
            action = actions.save_improvement_action(None, by=staff, **form.cleaned_data)
        except CherishError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("Improvement action planned."))
            return redirect("learning:action", action.pk)
    rows = queries.actions_list()
    return render(
        request,
        "learning/actions.html",
        {
            "rows": list(zip(rows, queries.effectiveness_many(rows), strict=True)),
            "may_shape": True,
            "form": form,
        },
        status=400,
    )


@require_http_methods(["GET", "POST"])
@desk_view
def action_detail(request: DeskRequest, action_id: int) -> HttpResponse:
    staff = request.staff
    action = access.access_action(staff, action_id)
    form = ActionForm(initial=_action_initial(action))
    if request.method == "POST":
        access.require_shaper(staff)
        form = ActionForm(request.POST)
        if form.is_valid():
            try:
                actions.save_improvement_action(action, by=staff, **form.cleaned_data)
            except CherishError as error:
                form.add_error(error.field, error.message)
            else:
                messages.success(request, _("Improvement action saved."))
                return redirect("learning:action", action.pk)
    return render(
        request,
        "learning/action_detail.html",
        {
            "action": action,
            "effect": queries.effectiveness(action),
            "form": form,
            "link_form": LinkCaseForm(),
            "cases": queries.action_cases(action, viewer=staff),
            "notices": action.notices.count(),
            "may_shape": access.may_shape_learning(staff),
            "may_publish": access.may_publish(staff),
        },
    )


@require_POST
@desk_view
def action_link_case(request: DeskRequest, action_id: int) -> HttpResponse:
    staff = request.staff
    action = access.access_action(staff, action_id)
    access.require_shaper(staff)
    form = LinkCaseForm(request.POST)
    if form.is_valid():
        try:
            case = access_case(staff, form.cleaned_data["reference"])
        except NotFound:
            messages.error(request, _("There is no case with that reference."))
        else:
            actions.link_action_case(action, case=case, by=staff)
            messages.success(request, _("%(reference)s linked.") % {"reference": case.reference})
    return redirect("learning:action", action.pk)


@require_POST
@desk_view
def action_publish(request: DeskRequest, action_id: int) -> HttpResponse:
    staff = request.staff
    action = access.access_action(staff, action_id)
    access.require_manager(staff)
    try:
        told = actions.publish_action(action, by=staff)
    except CherishError as error:
        return _back(request, error, "learning:action", action.pk)
    messages.success(
        request,
        ngettext(
            "Shown on “You said, we did”. %(n)s customer told.",
            "Shown on “You said, we did”. %(n)s customers told.",
            told,
        )
        % {"n": told},
    )
    return redirect("learning:action", action.pk)


@require_POST
@desk_view
def action_unpublish(request: DeskRequest, action_id: int) -> HttpResponse:
    staff = request.staff
    action = access.access_action(staff, action_id)
    access.require_manager(staff)
    actions.unpublish_action(action, by=staff)
    messages.success(request, _("Taken off the public page."))
    return redirect("learning:action", action.pk)


# ---------------------------------------------------------------- public page


@require_GET
def you_said_we_did(request: HttpRequest) -> HttpResponse:
    """Public, no login, no JavaScript: what changed because customers complained."""
    return render(
        request, "learning/you_said_we_did.html", {"actions": queries.published_actions()}
    )


# ---------------------------------------------------------------- learning stories


@require_GET
@desk_view
def stories(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    every = queries.all_stories()
    case_ids = [s.case_id for s in every if s.case_id]
    return render(
        request,
        "learning/stories.html",
        {
            "mine": queries.stories_for(staff),
            "stories": every,
            "visible_case_ids": set(
                visible_cases(staff).filter(pk__in=case_ids).values_list("pk", flat=True)
            ),
            "stats": queries.circulation(),
        },
    )


@require_http_methods(["GET", "POST"])
@desk_view
def story_new(request: DeskRequest) -> HttpResponse:
    staff = request.staff
    reference = request.GET.get("case", "")
    case = access_case(staff, reference) if reference else None
    form = StoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            story = actions.write_story(None, case=case, by=staff, **form.cleaned_data)
        except CherishError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("Story saved. Circulate it to the teams who should read it.")
            )
            return redirect("learning:story", story.pk)
    return render(
        request,
        "learning/story_form.html",
        {"form": form, "case": case},
        status=400 if form.errors else 200,
    )


@require_GET
@desk_view
def story_detail(request: DeskRequest, story_id: int) -> HttpResponse:
    staff = request.staff
    story = access.access_story(staff, story_id)
    actions.mark_story_read(story, by=staff)
    return render(
        request,
        "learning/story_detail.html",
        {
            "story": story,
            "reads": story.reads.count(),
            "circulations": story.circulations.select_related("team"),
            "circulate_form": CirculateForm(),
            "may_shape": access.may_shape_learning(staff),
            "is_author": story.author_id == staff.pk,
            "case_visible": story.case_id is not None
            and visible_cases(staff).filter(pk=story.case_id).exists(),
        },
    )


@require_POST
@desk_view
def story_circulate(request: DeskRequest, story_id: int) -> HttpResponse:
    staff = request.staff
    story = access.access_story(staff, story_id)
    access.require_story_editor(staff, story)
    form = CirculateForm(request.POST)
    if form.is_valid():
        added = actions.circulate_story(story, teams=list(form.cleaned_data["teams"]), by=staff)
        messages.success(
            request,
            ngettext("Circulated to %(n)s more team.", "Circulated to %(n)s more teams.", added)
            % {"n": added},
        )
    else:
        messages.error(request, _("Choose at least one team."))
    return redirect("learning:story", story.pk)


# ---------------------------------------------------------------- weekly report


@require_GET
@desk_view
def weekly(request: DeskRequest) -> HttpResponse:
    return render(
        request, "learning/weekly.html", {"report": queries.weekly_report(viewer=request.staff)}
    )
