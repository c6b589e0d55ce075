// The appcmd argument forms the plans use, parsed: `set|clear|list config [path] -section:S
// ops... [/commit:apphost]`, and `add|set|list|delete apppool|app|site [id] /attr:value...`.
// An operation's path is dot-separated names and bracketed collection entries:
// `/+fileExtensions.[fileExtension='.cs']`, `/-[name='X']`, `/[path='*'].failureDefinitions.timeTaken:00:01:00`,
// `/+[@start,name='X',path='*']`. Used by the schema test and the applicationHost.config model.

export interface Entry {
  /** The entry's attributes; key and others. */
  attributes: Map<string, string>;
  /** `@start`: insert before the other entries. */
  atStart: boolean;
}

export type Segment = { name: string } | { entry: Entry };

export interface Operation {
  op: 'add' | 'remove' | 'set' | 'path';
  segments: Segment[];
  /** For 'set': the value after the colon. */
  value?: string;
}

export type AppcmdCommand =
  | {
      object: 'config';
      verb: 'set' | 'clear' | 'list';
      /** The config path; '' for server level. */
      location: string;
      section: string;
      operations: Operation[];
      commit: boolean;
    }
  | {
      object: 'apppool' | 'app' | 'site';
      verb: 'add' | 'set' | 'list' | 'delete';
      /** The object's identifier (absent for add). */
      id?: string;
      attributes: Map<string, string>;
      /** list ... /text:attribute */
      text?: string;
    };

function parseEntry(inner: string): Entry {
  const attributes = new Map<string, string>();
  let atStart = false;
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of inner) {
    if (char === "'") quoted = !quoted;
    if (char === ',' && !quoted) {
      items.push(current);
      current = '';
    } else current += char;
  }
  items.push(current);
  for (const item of items) {
    if (item === '@start') {
      atStart = true;
      continue;
    }
    const match = /^([A-Za-z][\w.]*)='([^']*)'$/.exec(item);
    if (match === null) throw new Error(`not an entry attribute: ${item}`);
    attributes.set(match[1]!, match[2]!);
  }
  return { attributes, atStart };
}

/** "fileExtensions.[fileExtension='.cs']" or "requestLimits.maxUrl:16384" */
export function parsePath(text: string): { segments: Segment[]; value?: string } {
  const segments: Segment[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '[') {
      let j = i + 1;
      let quoted = false;
      while (j < text.length && (text[j] !== ']' || quoted)) {
        if (text[j] === "'") quoted = !quoted;
        j++;
      }
      if (j >= text.length) throw new Error(`unclosed [ in ${text}`);
      segments.push({ entry: parseEntry(text.slice(i + 1, j)) });
      i = j + 1;
    } else if (char === '.') {
      i++;
    } else if (char === ':') {
      return { segments, value: text.slice(i + 1) };
    } else {
      const match = /^[^.[:]+/.exec(text.slice(i))!;
      segments.push({ name: match[0] });
      i += match[0].length;
    }
  }
  return { segments };
}

export function parseAppcmd(args: readonly string[]): AppcmdCommand {
  const [verb, object, ...rest] = args;
  if (object === 'config') {
    if (verb !== 'set' && verb !== 'clear' && verb !== 'list') throw new Error(`appcmd ${verb} config`);
    let location = '';
    if (rest[0] !== undefined && !rest[0].startsWith('-') && !rest[0].startsWith('/'))
      location = rest.shift()!;
    const sectionArg = rest.shift();
    if (sectionArg === undefined || !sectionArg.startsWith('-section:')) throw new Error('no -section:');
    const operations: Operation[] = [];
    let commit = false;
    for (const arg of rest) {
      if (arg === '/commit:apphost') {
        commit = true;
        continue;
      }
      if (!arg.startsWith('/')) throw new Error(`not an operation: ${arg}`);
      const body = arg.slice(1);
      if (verb === 'list') {
        if (!body.startsWith('text:')) throw new Error(`list config takes /text:, not ${arg}`);
        operations.push({ op: 'path', segments: parsePath(body.slice('text:'.length)).segments });
      } else if (body.startsWith('+') || body.startsWith('-')) {
        const parsed = parsePath(body.slice(1));
        if (parsed.value !== undefined) throw new Error(`a value after an entry: ${arg}`);
        operations.push({ op: body.startsWith('+') ? 'add' : 'remove', segments: parsed.segments });
      } else {
        const parsed = parsePath(body);
        if (verb === 'clear') {
          if (parsed.value !== undefined) throw new Error(`clear takes no value: ${arg}`);
          operations.push({ op: 'path', segments: parsed.segments });
        } else {
          if (parsed.value === undefined) throw new Error(`set without a value: ${arg}`);
          operations.push({ op: 'set', segments: parsed.segments, value: parsed.value });
        }
      }
    }
    return { object, verb, location, section: sectionArg.slice('-section:'.length), operations, commit };
  }
  if (object === 'apppool' || object === 'app' || object === 'site') {
    if (verb !== 'add' && verb !== 'set' && verb !== 'list' && verb !== 'delete')
      throw new Error(`appcmd ${verb}`);
    let id: string | undefined;
    if (verb !== 'add') id = rest.shift();
    const attributes = new Map<string, string>();
    let text: string | undefined;
    for (const arg of rest) {
      const match = /^\/([A-Za-z][\w.]*):(.*)$/s.exec(arg);
      if (match === null) throw new Error(`not /attribute:value: ${arg}`);
      if (verb === 'list' && match[1] === 'text') text = match[2]!;
      else attributes.set(match[1]!, match[2]!);
    }
    return {
      object,
      verb,
      ...(id === undefined ? {} : { id }),
      attributes,
      ...(text === undefined ? {} : { text }),
    };
  }
  throw new Error(`appcmd ${args.join(' ')}: not a form the plans use`);
}

/** Splits a printed command line back into arguments, by the C runtime's rules (no \" in them). */
export function splitWindowsCommandLine(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let quoted = false;
  let started = false;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (char === '"') {
      quoted = !quoted;
      started = true;
    } else if (char === ' ' && !quoted) {
      if (started) args.push(current);
      current = '';
      started = false;
    } else {
      current += char;
      started = true;
    }
  }
  if (started) args.push(current);
  return args;
}
