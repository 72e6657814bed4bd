"""Spreadsheet imports (students with guardians and enrollments, teachers, groups, expenses) and
what the admin's exports share with them. One module per job, in the order a file goes through:

- ``cells``: the limits, what a cell reads as (text, ``Formula``, ``ExcelDate``), ``ImportFileError``;
- ``formats``: one parser per format (.xlsx, .ods, .xls, text); ``reader``: ``sheet_read``, which
  picks the parser by the file's bytes, merged cells, ``row_count_estimate``;
- ``columns``: each sheet's columns and accepted spellings; ``headers``: finding the header row;
- ``parsing``: one row's cells, normalized; ``results``: row outcomes and the file's result;
- ``students`` (parse and run), ``planning`` (against the database), ``writing`` (bulk INSERTs
  through core/db.py): the student importer; ``teachers_groups`` and ``expenses``: the row-by-row
  importers (each row through its service, in a savepoint);
- ``engine``: ``import_run``, the one entry; ``jobs``: ``ImportJob`` and the django-q2 tasks;
  ``uploads``: old uploads deleted once no import needs them;
- ``writers``: the error report and the template; ``formulas``: formula escaping for every file
  written (imports and admin exports); ``resources``: the django-import-export export resources.

``core.services.imports``, ``core.services.spreadsheets`` and ``core.services.import_files``
re-export the public names.
"""
