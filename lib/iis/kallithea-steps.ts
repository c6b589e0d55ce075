// What the administrator still has to do inside Kallithea once IIS is registered (the old
// route's documentation listed the same steps; kallithea.md sections 1 and 2). Kallithea keeps
// these settings in its database, so the installer can only say them, not make them.
import { type KallitheaIniFacts, prefixMismatch } from '../config/kallithea-ini.js';

export function kallitheaSteps(
  userHeader: string,
  facts: KallitheaIniFacts | undefined,
  virtualDir: string,
  myIni: string,
): string[] {
  const environKey = `HTTP_${userHeader.toUpperCase().replace(/-/g, '_')}`;
  const steps = [
    'In Kallithea, as an administrator (Admin > Authentication, /_admin/auth):',
    '  1. Activate the container plugin: add kallithea.lib.auth_modules.auth_container to the enabled plugins ' +
      '(keep auth_internal for the initial admin and for hg/git Basic logins) and tick Enabled.',
    `  2. In the container plugin, keep Fallback header = ${environKey} (its default for X-Forwarded-User) ` +
      `or set Header to it: the bridge sends the IIS user in ${userHeader}, as REMOTE_USER cannot cross ` +
      'the HTTP hop.',
    '  3. Tick Clean username, so DOMAIN\\jane and jane@example.org become jane.',
    '  4. Admin > Permissions: disable anonymous access (hg/git requests are otherwise served ' +
      'anonymously before any user is looked at), and allow automatic activation of external accounts ' +
      '(hg.extern_activate.auto), or create the users beforehand.',
    '  Users created by db-create or the admin page are "internal" and keep logging in with their password.',
  ];
  if (facts === undefined) {
    steps.push(`  5. ${myIni} could not be read, so the prefix filter was not checked.`);
  } else {
    const mismatch = prefixMismatch(facts, virtualDir, myIni);
    if (mismatch === undefined) {
      steps.push(
        virtualDir === '/'
          ? `  5. ${myIni}: no prefix filter, as the site root needs.`
          : `  5. ${myIni}: the prefix filter is set to ${virtualDir}, as the virtual directory needs.`,
      );
    } else {
      steps.push(`  5. ${mismatch.split('\n').join('\n     ')}`);
    }
  }
  return steps;
}
