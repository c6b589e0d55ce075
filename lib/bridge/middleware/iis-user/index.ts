// The IIS user -> Kallithea's container-auth header. REMOTE_USER cannot cross an HTTP hop,
// so the user IIS authenticated travels in a header (default X-Forwarded-User, which
// Kallithea's container plugin reads as HTTP_X_FORWARDED_USER). Set per request, never in
// a process global (the old dispatch.py wrote os.environ and raced between threads).
// The header policy dropped every client copy when the environ was built (headers/policy.ts).
import { headerKey } from '../../environ/environ.js';
import { DEFAULT_USER_HEADER } from '../../headers/policy.js';
import { hooked, type HookedMiddleware } from '../../pipeline/hooks.js';

export interface IisUserOptions {
  /** The header that carries the user to Kallithea. A token without `_` (those get dropped). */
  readonly header?: string;
}

export function iisUser(options: IisUserOptions = {}): HookedMiddleware {
  const key = headerKey(options.header ?? DEFAULT_USER_HEADER);
  return hooked({
    name: 'iisUser',
    request(environ) {
      // REMOTE_USER is the name after IIS's mapping; AUTH_USER the one the client gave.
      const user = environ.REMOTE_USER || environ.AUTH_USER;
      // Set to undefined, not deleted: `delete` would turn the environ into a slow
      // dictionary-mode object. Undefined headers are not sent.
      if (user !== '') environ[key] = user;
      else if (environ[key] !== undefined) environ[key] = undefined;
    },
  });
}
