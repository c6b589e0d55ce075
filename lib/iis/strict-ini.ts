// A strict reader for kallithea-isapi.ini's syntax, so that `check` can name the line of a
// typo that a lenient parser would silently drop (a missing '=', a key outside any section, a
// key given twice). Values are returned as strings; the sections' own readers check them.
// TODO(lead): fold into lib/config's loader once it lands, so the bridge and check share one.

export interface StrictIni {
  sections: Record<string, Record<string, string>>;
  problems: string[];
}

export function parseIniStrict(text: string, file: string): StrictIni {
  const sections: Record<string, Record<string, string>> = {};
  const problems: string[] = [];
  let current: Record<string, string> | undefined;
  let currentName = '';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const where = `${file}:${index + 1}`;
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    const section = /^\[([^\]]*)\]$/.exec(line);
    if (section) {
      currentName = (section[1] ?? '').trim();
      if (currentName in sections)
        problems.push(`${where}: section [${currentName}] appears twice; merge them`);
      current = sections[currentName] ??= {};
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) {
      problems.push(`${where}: ${JSON.stringify(line)} is not 'key = value', a [section] or a ; comment`);
      return;
    }
    const key = line.slice(0, eq).trim();
    // A ';' after whitespace starts a comment, as in the documented examples.
    const value = line
      .slice(eq + 1)
      .replace(/\s+;.*$/, '')
      .trim();
    if (current === undefined) {
      problems.push(`${where}: ${key} comes before any [section]; put it under [isapi] or [bridge]`);
      return;
    }
    if (key in current) problems.push(`${where}: [${currentName}] ${key} is given twice; keep one`);
    current[key] = value;
  });
  return { sections, problems };
}
