// Where the status page lives, below the application (SCRIPT_NAME): /~kallithea-isapi/status.
//
// Why this path can never be Kallithea's (checked in Kallithea 0.7.0's source): Kallithea's
// own pages are under /_admin, its static files under /css, /js, /images and /fontello, and
// /_<number> addresses a repository by id; everything else is a repository or repository
// group name. Every way a repository or group comes to exist (the web forms, the JSON API,
// forks, and the rescan of the repositories folder, which calls the same model) goes through
// RepoModel._create_repo / RepoGroupModel.create, which refuse a name that
// kallithea.lib.utils2.repo_name_slug() would change, and repo_name_slug replaces `~` (with
// most punctuation) by `-`. So no repository or group name contains `~`, and no first path
// segment holding one is a Kallithea URL. `~` is an unreserved URL character (RFC 3986): no
// client percent-encodes it, and IIS's default request filtering lets it through.
//
// The DLL matches the same suffix to decide which request carries its figures
// (native/isapi/status/status_figures.hpp); the bridge decides exactly, on PATH_INFO.
export const STATUS_PATH = '/~kallithea-isapi/status';

/** The FastCGI param in which the DLL sends its figures for a request to STATUS_PATH. */
export const DLL_STATUS_PARAM = 'KALLITHEA_ISAPI_DLL_STATUS';
