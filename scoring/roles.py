"""The three roles: clinician reads and writes clinical records, viewer only reads, admin manages
users in Django's admin and alone may delete a record there (audited). Made by migration 0004."""

# A film and its readings are part of the clinical record: the same roles read and write them.
CLINICAL = ["patient", "fracture", "visit", "film", "filmreading"]
ROLES = {
    "clinician": [f"scoring.{action}_{model}" for model in CLINICAL for action in ("view", "add", "change")]
    + ["scoring.export_identified"],
    "viewer": [f"scoring.view_{model}" for model in CLINICAL],
    "admin": [f"scoring.{action}_{model}" for model in CLINICAL for action in ("view", "delete")]
    + [f"scoring.view_historical{model}" for model in CLINICAL]
    + [f"auth.{action}_user" for action in ("view", "add", "change", "delete")]
    + [
        "auth.view_group",
        "cohort.view_exportlog",
        "axes.view_accessattempt",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    ],
}


def ensure_roles(Group, Permission) -> None:
    """Create the groups with their permissions (given the models, so a migration can pass its own).

    A permission that does not exist yet (its model or Meta comes in a later migration) is skipped:
    the migration that brings it calls this again.
    """
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            permission = Permission.objects.filter(content_type__app_label=app_label, codename=codename).first()
            if permission is not None:
                group.permissions.add(permission)
