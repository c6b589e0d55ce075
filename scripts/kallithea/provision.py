"""Provision a Kallithea 0.7.0 instance for kallithea-isapi's tests.

Run with the instance venv's python:

    venv/bin/python provision.py -c my.ini provision
    venv/bin/python provision.py -c my.ini user-info alice

It loads the application the way `kallithea-cli` does (PasteDeploy reads
[app:main] of the ini, then kallithea.config.application.make_app sets up
TurboGears, kallithea.CONFIG and the database session) and then changes the
database only through Kallithea's models, the same calls its admin pages
make. Every step is idempotent, so a re-run leaves the instance unchanged.
"""

import argparse
import logging
import os
import sys

import paste.deploy

USERS = (
    # username, env var for the password, default password, first name
    ('bob', 'KALLITHEA_BOB_PASSWORD', 'bob-secret-1', 'Bob'),
    ('carol', 'KALLITHEA_CAROL_PASSWORD', 'carol-secret-1', 'Carol'),
)

# repository name -> (type, permission per user)
REPOS = {
    'hgrepo': ('hg', {'bob': 'repository.write', 'carol': 'repository.read'}),
    'gitrepo': ('git', {'bob': 'repository.write', 'carol': 'repository.read'}),
}

AUTH_PLUGINS = [
    'kallithea.lib.auth_modules.auth_internal',
    'kallithea.lib.auth_modules.auth_container',
]

# What an administrator would submit at Admin > Authentication. The user name
# comes from REMOTE_USER when the WSGI server sets it, else from the
# X-Forwarded-User request header (environ key HTTP_X_FORWARDED_USER), which is
# what the kallithea-isapi bridge sends over its HTTP hop.
AUTH_FORM = {
    'auth_plugins': ','.join(AUTH_PLUGINS),
    'auth_internal_enabled': 'True',
    'auth_container_enabled': 'True',
    'auth_container_header': 'REMOTE_USER',
    'auth_container_fallback_header': 'HTTP_X_FORWARDED_USER',
    'auth_container_email_header': '',
    'auth_container_firstname_header': '',
    'auth_container_lastname_header': '',
    'auth_container_clean_username': 'True',
}

ADMIN = os.environ.get('KALLITHEA_ADMIN_USER', 'admin')

log = logging.getLogger('provision')


def load_app(ini):
    """Initialise Kallithea from an ini file like kallithea-cli does."""
    import kallithea.config.application
    path = os.path.realpath(ini)
    config = paste.deploy.appconfig('config:' + path)
    kallithea.config.application.make_app(config.global_conf, **config.local_conf)


def ensure_auth_settings():
    from kallithea.lib import auth_modules
    from kallithea.model import db, meta

    # Stored the way the POST handler of Admin > Authentication stores its
    # validated form (kallithea/controllers/admin/auth_settings.py): one
    # Setting row per key, the plugin list comma-separated. The form class
    # itself needs a TurboGears request context for its messages, so it is not
    # used here; instead every setting the enabled plugins declare must be given
    # (a missing row reads as None, and e.g. a None fallback_header would
    # silently ignore X-Forwarded-User).
    declared = set()
    for name in AUTH_PLUGINS:
        plugin = auth_modules.loadplugin(name)  # raises if the plugin is unusable
        declared.update('auth_%s_%s' % (plugin.name, s['name']) for s in plugin.plugin_settings())
    missing = declared - set(AUTH_FORM)
    if missing:
        raise SystemExit('auth settings not provided: %s' % ', '.join(sorted(missing)))
    for key, value in sorted(AUTH_FORM.items()):
        db.Setting.create_or_update(key, value)
    meta.Session().commit()
    for key in sorted(AUTH_FORM):
        log.info('setting %s = %r', key, db.Setting.get_by_name(key).app_settings_value)


def ensure_default_permissions():
    from kallithea.model import db, meta
    from kallithea.model.user import UserModel

    default = db.User.get_default_user()
    # Anonymous access off: the "default" user is inactive, so hg and git
    # requests are never served anonymously and always reach container auth
    # or HTTP Basic.
    default.active = False
    # External (container) accounts are activated on first login.
    model = UserModel()
    model.revoke_perm(default, 'hg.extern_activate.manual')
    model.grant_perm(default, 'hg.extern_activate.auto')
    meta.Session().commit()


def ensure_users():
    from kallithea.model import db, meta
    from kallithea.model.user import UserModel

    for name, env, fallback, first in USERS:
        UserModel().create_or_update(
            username=name,
            password=os.environ.get(env, fallback),
            email='%s@example.com' % name,
            firstname=first,
            lastname='Tester',
            active=True,
            admin=False,
            extern_type=db.User.DEFAULT_AUTH_TYPE,
            extern_name=name,
            cur_user=ADMIN,
        )
        meta.Session().commit()
        log.info('user %s ready', name)


def ensure_repos():
    from kallithea.model import db, meta
    from kallithea.model.repo import RepoModel
    from kallithea.model.scm import ScmModel

    admin = db.User.get_by_username(ADMIN)
    for name, (repo_type, perms) in sorted(REPOS.items()):
        repo = db.Repository.get_by_repo_name(name)
        if repo is None:
            # The same form data the "Add repository" page produces.
            RepoModel().create({
                'repo_name': name,
                'repo_name_full': name,
                'repo_type': repo_type,
                'repo_description': 'Test %s repository for kallithea-isapi' % repo_type,
                'repo_private': False,
                'clone_uri': None,
                'repo_group': None,
                'repo_landing_rev': 'rev:tip',
            }, cur_user=admin)
            meta.Session().commit()
            repo = db.Repository.get_by_repo_name(name)
            log.info('created %s repository %s', repo_type, name)

        if repo.scm_instance_no_cache().is_empty():
            # Initial commit through Kallithea's own in-memory commit API,
            # the one behind the web file editor.
            tip = ScmModel().create_nodes(
                user=admin, ip_addr='127.0.0.1', repo=repo,
                message='Initial commit',
                nodes={'README.txt': {'content': b'%s test repository\n' % name.encode()}},
                author='Kallithea Admin <admin@example.com>',
            )
            meta.Session().commit()
            log.info('%s: initial commit %s', name, tip.raw_id)

        for username, perm in sorted(perms.items()):
            RepoModel().grant_user_permission(repo=repo, user=username, perm=perm)
        meta.Session().commit()
        ScmModel().mark_for_invalidation(name)
        meta.Session().commit()


def provision():
    ensure_auth_settings()
    ensure_default_permissions()
    ensure_users()
    ensure_repos()
    print('provisioned: users %s, repos %s, container auth on, anonymous off'
          % (', '.join(u[0] for u in USERS), ', '.join(sorted(REPOS))))


def user_info(username):
    """Print a user as Kallithea's model sees it; exit 1 if there is none."""
    from kallithea.model import db

    user = db.User.get_by_username(username, case_insensitive=True)
    if user is None:
        print('no such user: %s' % username)
        return 1
    print('username=%s active=%s admin=%s extern_type=%s extern_name=%s'
          % (user.username, user.active, user.admin, user.extern_type, user.extern_name))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('-c', '--config', required=True, help='Kallithea ini file')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('provision', help='create users, repos and auth settings')
    info = sub.add_parser('user-info', help='show one user')
    info.add_argument('username')
    args = parser.parse_args()

    logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')
    log.setLevel(logging.INFO)
    load_app(args.config)
    if args.command == 'provision':
        provision()
        return 0
    return user_info(args.username)


if __name__ == '__main__':
    sys.exit(main())
