"""Turn a copy of the test instance into one that configure-kallithea has everything to do for.

usage: venv/bin/python unconfigured_instance.py -c my.ini REPO_NAME

Loads Kallithea as kallithea-cli does and, through its models (as provision.py does):
- puts the authentication settings back to what `kallithea-cli db-create` leaves
  (auth_plugins = auth_internal only, no container plugin settings at all);
- turns anonymous access on (the default user active, db-create's default) and external
  account activation to manual (db-create's default is automatic: set to manual here so that
  every setting starts unset);
- creates git repository REPO_NAME, public, with one commit holding the files IIS's request
  filtering would refuse to serve (Program.cs, app.config, bin/tool.sh).
"""

import argparse
import os
import sys

import paste.deploy

FILES = {
    'Program.cs': b'// kallithea-isapi marker: Program.cs\nclass Program { static void Main() {} }\n',
    'app.config': b'<?xml version="1.0"?>\n<!-- kallithea-isapi marker: app.config -->\n<configuration />\n',
    'bin/tool.sh': b'#!/bin/sh\n# kallithea-isapi marker: bin/tool.sh\necho tool\n',
}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('-c', '--config', required=True)
    parser.add_argument('repo')
    args = parser.parse_args()

    import kallithea.config.application
    path = os.path.realpath(args.config)
    config = paste.deploy.appconfig('config:' + path)
    kallithea.config.application.make_app(config.global_conf, **config.local_conf)

    from kallithea.model import db, meta
    from kallithea.model.repo import RepoModel
    from kallithea.model.scm import ScmModel
    from kallithea.model.user import UserModel

    db.Setting.create_or_update('auth_plugins', 'kallithea.lib.auth_modules.auth_internal', type='list')
    for row in db.Setting.query().filter(db.Setting.app_settings_name.startswith('auth_container_')).all():
        meta.Session().delete(row)
    default = db.User.get_default_user()
    default.active = True
    UserModel().revoke_perm(default, 'hg.extern_activate.auto')
    UserModel().grant_perm(default, 'hg.extern_activate.manual')
    meta.Session().commit()

    admin = db.User.get_by_username('admin')
    RepoModel().create({
        'repo_name': args.repo, 'repo_name_full': args.repo, 'repo_type': 'git',
        'repo_description': 'files IIS request filtering refuses by default',
        'repo_private': False, 'clone_uri': None, 'repo_group': None, 'repo_landing_rev': 'rev:tip',
    }, cur_user=admin)
    meta.Session().commit()
    repo = db.Repository.get_by_repo_name(args.repo)
    ScmModel().create_nodes(
        user=admin, ip_addr='127.0.0.1', repo=repo, message='files a code host serves',
        nodes={name: {'content': content} for name, content in FILES.items()},
        author='Kallithea Admin <admin@example.com>',
    )
    meta.Session().commit()
    print('unconfigured; repository %s created' % args.repo)
    return 0


if __name__ == '__main__':
    sys.exit(main())
