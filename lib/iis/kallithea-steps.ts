// What is left to do inside Kallithea once IIS is registered, when install ran without
// --configure-kallithea: Kallithea keeps these settings in its database (and the prefix filter
// in my.ini), and `kallithea-isapi configure-kallithea` applies them through Kallithea's own
// code (lib/kallithea-settings). Listed here so the administrator knows what that command does.
import { type KallitheaIniFacts, prefixMismatch } from '../config/kallithea-ini.js';

export function kallitheaSteps(
  facts: KallitheaIniFacts | undefined,
  virtualDir: string,
  myIni: string,
): string[] {
  const steps = [
    "Kallithea's own settings were left as they are. Apply them (or see that they are set) with",
    `  kallithea-isapi configure-kallithea -c ${myIni}`,
    "(or run install with --configure-kallithea). Through Kallithea's own code it turns on the",
    "container authentication plugin reading the bridge's user header, made a secret random",
    'header name (kallithea-isapi.ini [bridge] user_header), so that only the bridge can name a',
    'user; Clean username (CORP\\jane becomes jane); anonymous access off; automatic activation',
    'of external accounts. Users created by db-create or the admin page stay "internal" and keep',
    'logging in with their password.',
  ];
  if (facts === undefined) {
    steps.push(`${myIni} could not be read, so the prefix filter was not checked.`);
  } else {
    const mismatch = prefixMismatch(facts, virtualDir, myIni);
    if (mismatch === undefined) {
      steps.push(
        virtualDir === '/'
          ? `${myIni}: no prefix filter, as the site root needs.`
          : `${myIni}: the prefix filter is set to ${virtualDir}, as the virtual directory needs.`,
      );
    } else {
      steps.push(`It also fixes the prefix filter (after a backup of my.ini): ${mismatch}`);
    }
  }
  return steps;
}
