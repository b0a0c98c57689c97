"""Django's SQLite backend, making the database file's directory when it first connects.

The embedded default keeps its database in DATA_DIR, which importing the settings does not
create; the first connection (migrate, bootstrap) does.
"""
