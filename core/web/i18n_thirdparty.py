"""Arabic for third-party apps: their untranslated msgids, and axes' app name.

makemessages does not read site-packages, so the Arabic for these strings (in locale/ar) would be
marked obsolete on the next run. Listing them here keeps them in the project catalogue; the
lists are never used at run time. A few strings that a package translates badly are listed too,
so that ours win. Regenerate the lists when upgrading one of these packages: extract the
package's msgids with makemessages on a copy of it and keep those that Django's and the
package's own Arabic catalogues leave untranslated.

django-axes names its app "Axes" with no translation: INSTALLED_APPS loads it through
``AxesConfig`` below. (django-q2 takes its app name from ``Q_CLUSTER["label"]`` in settings.)
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy, gettext_noop, ngettext_lazy


class AxesConfig(AxesAppConfig):
    verbose_name = gettext_lazy("Login protection")


# Django 5.2: strings its Arabic catalogues (django, contrib.auth) leave untranslated, most of them
# on the staff add form (password-based authentication) and the password pages.
DJANGO = (
    gettext_noop("Conflicting form data submitted. Please try again."),
    gettext_noop("Password-based authentication was disabled."),
    gettext_noop("Set password: %s"),
    gettext_noop("Reset password"),
    gettext_noop("Set password"),
    gettext_noop(
        "Whether the user will be able to authenticate using a password or not. If disabled, they may still be able "
        "to authenticate using other backends, such as Single Sign-On or LDAP."
    ),
    gettext_noop("Password-based authentication"),
    gettext_noop("Enabled"),
    gettext_noop("Disabled"),
    gettext_noop("Raw passwords are not stored, so there is no way to see the user’s password."),
    gettext_noop("Enable password-based authentication for this user by setting a password."),
    ngettext_lazy(
        "This password is too short. It must contain at least %d character.",
        "This password is too short. It must contain at least %d characters.",
    ),
    gettext_noop(
        "Enter a valid username. This value may contain only unaccented lowercase a-z and uppercase A-Z letters, "
        "numbers, and @/./+/-/_ characters."
    ),
    gettext_noop("Constraint “%(name)s” is violated."),
    gettext_noop("%(model)s instance with %(field)s %(value)r is not a valid choice."),
    ngettext_lazy("Please submit at most %(num)d form.", "Please submit at most %(num)d forms."),
    ngettext_lazy("Please submit at least %(num)d form.", "Please submit at least %(num)d forms."),
    # unfold's error note counts ``errors.items|length``, which is always 0, and Django's Arabic
    # for the count 0 reads "no errors to correct" above every form with errors: every form of
    # ours says "correct the errors below".
    ngettext_lazy("Please correct the error below.", "Please correct the errors below."),
)

# django-unfold 0.91.0 (with unfold.contrib.filters, forms and import_export): no translations at all.
UNFOLD = (
    gettext_noop("Select record"),
    gettext_noop("Select action"),
    gettext_noop("Value"),
    gettext_noop("From"),
    gettext_noop("To"),
    gettext_noop("Date from"),
    gettext_noop("Date to"),
    gettext_noop("Not enough data."),
    gettext_noop("Add new item"),
    gettext_noop("Paragraph"),
    gettext_noop("Underlined"),
    gettext_noop("Bold"),
    gettext_noop("Italic"),
    gettext_noop("Strike"),
    gettext_noop("Link"),
    gettext_noop("Heading"),
    gettext_noop("Quote"),
    gettext_noop("Code"),
    gettext_noop("Unordered list"),
    gettext_noop("Ordered list"),
    gettext_noop("Indent increase"),
    gettext_noop("Indent decrease"),
    gettext_noop("Undo"),
    gettext_noop("Redo"),
    gettext_noop("Enter an URL"),
    gettext_noop("Unlink"),
    gettext_noop("Select format"),
    ngettext_lazy(
        "\n                    Export %(len)s selected item.\n                ",
        "\n                    Export %(len)s selected items.\n                ",
    ),
    gettext_noop("This exporter will export the following fields"),
    gettext_noop("View traceback"),
    gettext_noop("Some rows failed to validate"),
    gettext_noop("Please correct these errors in your data where possible, then reupload it using the form above."),
    gettext_noop("Row"),
    gettext_noop("Non field specific"),
    gettext_noop("This exporter will export the following fields: "),
    gettext_noop("Select action to run"),
    gettext_noop(
        'Raw passwords are not stored, so there is no way to see this user’s password, but you can change the password using <a href="{}" class="text-primary-600 dark:text-primary-500">this form</a>.'
    ),
    gettext_noop("Select value"),
    gettext_noop("Dataset not found. No action performed."),
    gettext_noop("You can not create nested object without parent"),
    gettext_noop("Run"),
    gettext_noop("After you've created a user, you’ll be able to edit more user options."),
    gettext_noop("Filters"),
    gettext_noop("Expand row"),
    gettext_noop("Welcome back to"),
    gettext_noop("Forgotten your password or username?"),
    gettext_noop("Type to search"),
    gettext_noop("You have been successfully logged out from the administration"),
    gettext_noop("No data"),
    gettext_noop("More actions"),
    gettext_noop("All applications"),
    gettext_noop("True"),
    gettext_noop("False"),
    gettext_noop("Apply Filters"),
    gettext_noop("Select all rows"),
    gettext_noop("Recent searches"),
    gettext_noop("No recent searches"),
    gettext_noop("No results matching your query"),
    gettext_noop("Loading more results..."),
    ngettext_lazy(
        "\n                Found %(counter)s result in %(time)s seconds\n            ",
        "\n                Found %(counter)s results in %(time)s seconds\n            ",
    ),
    gettext_noop("Cancel"),
    gettext_noop("Record picture"),
    gettext_noop("This item will be deleted."),
    gettext_noop("Click to cancel"),
    gettext_noop("No results found"),
    gettext_noop("This page yielded into no results. Create a new item or reset your filters."),
    gettext_noop("Reset filters"),
    gettext_noop("Image preview"),
    gettext_noop("Click to download"),
    gettext_noop("Go back"),
    gettext_noop("Previous"),
    gettext_noop("Next"),
    gettext_noop("Search apps and models..."),
    gettext_noop("General"),
    gettext_noop("Light"),
    gettext_noop("Dark"),
    gettext_noop("System"),
    gettext_noop("Return to site"),
    gettext_noop("Choose file to upload"),
    gettext_noop("Toggle password visibility"),
    gettext_noop("Add row"),
    gettext_noop("Date"),
    gettext_noop("Select currency"),
)

# django-import-export 4.4.3: its Arabic catalogue misses these.
IMPORT_EXPORT = (
    gettext_noop("%s through import_export"),
    gettext_noop("Import finished: {} new, {} updated, {} deleted and {} skipped {}."),
    gettext_noop(
        "%(exc_name)s encountered while trying to read file. Ensure you have chosen the correct format for the file."
    ),
    gettext_noop("No valid data to import. Ensure your file has the correct headers or data for import."),
    gettext_noop("export failed due to IllegalCharacterError"),
    gettext_noop("Resource"),
    gettext_noop("Form is not validated, call `is_valid` first"),
    gettext_noop('Select at least 1 field for "%(resource_name)s" to export'),
    gettext_noop(
        "The following fields are declared in 'import_id_fields' but are not present in the resource fields: %s"
    ),
    gettext_noop("The following fields are declared in 'import_id_fields' but are not present in the file headers: %s"),
    gettext_noop("call to force_str() on instance failed: %s"),
    ngettext_lazy("Export %(len)s selected item.", "Export %(len)s selected items."),
    gettext_noop("This exporter will export the following fields: "),
    gettext_noop("Select all"),
    gettext_noop("Some rows failed to validate"),
    gettext_noop("Please correct these errors in your data where possible, then reupload it using the form above."),
    gettext_noop("Row"),
    gettext_noop("Non field specific"),
    gettext_noop("Value could not be parsed."),
    gettext_noop("use_natural_foreign_keys and key_is_id cannot both be True"),
)

# django-import-export 4.4.3: translated by its Arabic catalogue, but misspelt ("إستيراد",
# "رقم الصطر") or wrong (the importer's field list); the project catalogue overrides them.
IMPORT_EXPORT_CORRECTIONS = (
    gettext_noop("Import"),
    gettext_noop("File to import"),
    gettext_noop("Confirm import"),
    gettext_noop("Line number"),
    gettext_noop("Format"),
    gettext_noop("Skipped"),
    gettext_noop("This importer will import the following fields: "),
)

# django-axes 8.3.1 admin: its Arabic catalogue misses these.
AXES = (
    gettext_noop("Locked Out"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Cleaned up {count} expired access attempts."),
    gettext_noop("Not set"),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Access Attempt"),
    gettext_noop("Expires At"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("Session key hash (sha256)"),
)

# django-q2 1.11.1 admin and models: no Arabic catalogue.
DJANGO_Q = (
    gettext_noop("Resubmit selected tasks to queue"),
    gettext_noop("Time Taken"),
    gettext_noop("Short result"),
    gettext_noop("success"),
    gettext_noop("last_run"),
    gettext_noop("Task id"),
    gettext_noop("32-character task identifier."),
    gettext_noop("Name"),
    gettext_noop("Optional human-readable name for lookup and display."),
    gettext_noop("Function"),
    gettext_noop("Dotted import path to the callable, e.g. myapp.tasks.job."),
    gettext_noop("Hook"),
    gettext_noop("Optional dotted path to a callback that receives the task result."),
    gettext_noop("Arguments"),
    gettext_noop("Pickled positional arguments (tuple)."),
    gettext_noop("Keyword arguments"),
    gettext_noop("Pickled keyword arguments (dict)."),
    gettext_noop("Result"),
    gettext_noop("Pickled return value or error payload."),
    gettext_noop("Group"),
    gettext_noop("Optional group id to aggregate related tasks."),
    gettext_noop("Cluster"),
    gettext_noop("Name of the cluster that executed this task."),
    gettext_noop("Started at"),
    gettext_noop("When the worker started executing the task."),
    gettext_noop("Stopped at"),
    gettext_noop("When the worker finished (success or failure)."),
    gettext_noop("Success"),
    gettext_noop("False if the task raised an exception or timed out."),
    gettext_noop("Attempt count"),
    gettext_noop("How many times execution was attempted."),
    gettext_noop("Task"),
    gettext_noop("Tasks"),
    gettext_noop("Successful task"),
    gettext_noop("Successful tasks"),
    gettext_noop("Failed task"),
    gettext_noop("Failed tasks"),
    gettext_noop("Please install croniter to enable cron expressions"),
    gettext_noop("Optional label to identify this schedule in the admin."),
    gettext_noop("e.g. module.tasks.function"),
    gettext_noop("e.g. module.tasks.result_function"),
    gettext_noop("e.g. 1, 2, 'John'"),
    gettext_noop("e.g. x=1, y=2, name='John'"),
    gettext_noop("Once"),
    gettext_noop("Minutes"),
    gettext_noop("Hourly"),
    gettext_noop("Daily"),
    gettext_noop("Weekly"),
    gettext_noop("Biweekly"),
    gettext_noop("Monthly"),
    gettext_noop("Bimonthly"),
    gettext_noop("Quarterly"),
    gettext_noop("Yearly"),
    gettext_noop("Cron"),
    gettext_noop("Schedule Type"),
    gettext_noop("How often this task should be enqueued."),
    gettext_noop("Number of minutes for the Minutes type"),
    gettext_noop("Repeats"),
    gettext_noop("n = n times, -1 = forever"),
    gettext_noop("Next Run"),
    gettext_noop("When this schedule runs next (stored in UTC)."),
    gettext_noop("Cron expression"),
    gettext_noop("Last task id"),
    gettext_noop("Id of the last task spawned from this schedule (read-only)."),
    gettext_noop("Name of the target cluster"),
    gettext_noop("Intended date kwarg"),
    gettext_noop("Name of kwarg to pass intended schedule date"),
    gettext_noop("Scheduled task"),
    gettext_noop("Scheduled tasks"),
    gettext_noop("Cluster key"),
    gettext_noop("Payload"),
    gettext_noop("Signed serialized task package (do not edit manually)."),
    gettext_noop("Lock until"),
    gettext_noop("Prevent any cluster from pulling until"),
    gettext_noop("Queue options"),
    gettext_noop("Queued task"),
    gettext_noop("Queued tasks"),
)
