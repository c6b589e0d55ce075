"""Apply the Kallithea settings kallithea-isapi relies on, through Kallithea's own code.

usage: python configure_kallithea.py -c MY_INI --header-key HTTP_X_... [--dry-run]

Run with the Python of Kallithea's virtualenv (`kallithea-isapi configure-kallithea` does).
It initialises Kallithea from MY_INI the way `kallithea-cli` does for its database commands
(PasteDeploy's appconfig, then kallithea.config.application.make_app, which sets up
TurboGears, kallithea.CONFIG and the SQLAlchemy session), then reads and changes the settings
only through Kallithea's models, as its admin pages do:

  Admin > Authentication (the Setting rows the page's POST handler stores):
    auth_plugins                     + kallithea.lib.auth_modules.auth_container
    auth_container_enabled           True
    auth_container_header            --header-key (the environ key of the bridge's header)
    auth_container_fallback_header   empty: no second header is believed
    auth_container_clean_username    True (CORP\\jane and jane@corp.example become jane)
  Admin > Permissions (what PermissionModel.update does for these two fields):
    anonymous access                 off: the default user is inactive
    external account activation      hg.extern_activate.auto instead of .manual

Every setting is compared first and written only when it differs; with --dry-run nothing is
written. Prints one line `RESULT {json}`: the database (no password) and, per setting, its
name, whether it changed (or would) and a detail. The header key is a secret: it is never
printed.
"""

import argparse
import json
import logging
import os
import sys

import paste.deploy

CONTAINER = 'kallithea.lib.auth_modules.auth_container'
# The container plugin's settings this script decides; the others keep their value or default.
MANAGED = {'auth_container_enabled', 'auth_container_header', 'auth_container_fallback_header',
           'auth_container_clean_username'}


def load_app(ini):
    """Initialise Kallithea from an ini file like kallithea-cli does."""
    import kallithea.config.application
    path = os.path.realpath(ini)
    config = paste.deploy.appconfig('config:' + path)
    kallithea.config.application.make_app(config.global_conf, **config.local_conf)
    return config.local_conf


def database_name(local_conf):
    from sqlalchemy.engine.url import make_url
    url = make_url(local_conf.get('sqlalchemy.url', ''))
    if url.password:
        url.password = '***'
    return str(url)


class Settings:
    """Collects what each step found and did."""

    def __init__(self, dry_run):
        self.dry_run = dry_run
        self.report = []

    def record(self, name, changed, detail):
        """Reports a setting; returns whether to write it (it differs, and this is no dry run)."""
        self.report.append({'name': name, 'changed': changed, 'detail': detail})
        return changed and not self.dry_run


def setting_value(key):
    from kallithea.model import db
    row = db.Setting.get_by_name(key)
    return None if row is None else row.app_settings_value


def differing(values):
    """The keys of `values` whose Setting holds another value (or none)."""
    return [key for key, value in values.items() if setting_value(key) != value]


def container_plugin(settings, header_key):
    from kallithea.lib import auth_modules
    from kallithea.lib.utils2 import asbool
    from kallithea.model import db

    plugin = auth_modules.loadplugin(CONTAINER)  # raises if the plugin is unusable
    plugins = list(setting_value('auth_plugins') or [])

    # The plugin's other settings keep what they have, or get the default the admin page
    # would show: a missing row reads as None to the plugin.
    defaults = {}
    for declared in plugin.plugin_settings():
        key = 'auth_container_%s' % declared['name']
        if key in MANAGED:
            continue  # set and reported by its own step below
        if setting_value(key) is None and 'default' in declared:
            defaults[key] = declared['default']

    enabled = CONTAINER in plugins and asbool(setting_value('auth_container_enabled'))
    if settings.record('container plugin', not enabled or bool(defaults),
                       'kallithea.lib.auth_modules.auth_container in auth_plugins, '
                       'auth_container_enabled = True'):
        if CONTAINER not in plugins:
            plugins.append(CONTAINER)
            db.Setting.create_or_update('auth_plugins', ','.join(plugins), type='list')
        db.Setting.create_or_update('auth_container_enabled', 'True')
        for key, value in defaults.items():
            db.Setting.create_or_update(key, value)

    wanted = {'auth_container_header': header_key, 'auth_container_fallback_header': ''}
    if settings.record("container plugin's header", bool(differing(wanted)),
                       "auth_container_header = the bridge's user_header (secret), "
                       'auth_container_fallback_header empty'):
        for key, value in wanted.items():
            db.Setting.create_or_update(key, value)

    clean = asbool(setting_value('auth_container_clean_username'))
    if settings.record('Clean username', not clean, 'auth_container_clean_username = True'):
        db.Setting.create_or_update('auth_container_clean_username', 'True')


def default_permissions(settings):
    from kallithea.model import db
    from kallithea.model.user import UserModel

    default = db.User.get_default_user()
    if settings.record('anonymous access off', default.active,
                       'the default user is inactive: hg, git and pages need a login'):
        default.active = False

    model = UserModel()
    auto = model.has_perm(default, 'hg.extern_activate.auto')
    manual = model.has_perm(default, 'hg.extern_activate.manual')
    if settings.record('external accounts activated automatically', not auto or manual,
                       'hg.extern_activate.auto'):
        model.revoke_perm(default, 'hg.extern_activate.manual')
        model.grant_perm(default, 'hg.extern_activate.auto')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-c', '--config', required=True, help="Kallithea's ini file")
    parser.add_argument('--header-key', required=True,
                        help='environ key of the user header, e.g. HTTP_X_KALLITHEA_USER_...')
    parser.add_argument('--dry-run', action='store_true', help='report, change nothing')
    args = parser.parse_args()
    if not args.header_key.startswith('HTTP_') or not args.header_key.replace('_', '').isalnum():
        parser.error('--header-key must be an environ key like HTTP_X_KALLITHEA_USER_...')

    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    local_conf = load_app(args.config)

    from kallithea.model import meta
    settings = Settings(args.dry_run)
    container_plugin(settings, args.header_key)
    default_permissions(settings)
    if args.dry_run:
        meta.Session().rollback()
    else:
        meta.Session().commit()
    print('RESULT ' + json.dumps({'database': database_name(local_conf), 'settings': settings.report}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
