// A small model of what the plans touch on an IIS server: applicationHost.config (pools, sites
// and their applications, and configuration sections at location paths, with <add>/<remove>
// collection entries), the http.sys registry values and the log folder's grants; and a tiny
// interpreter that applies appcmd, reg and icacls runs to it the way those programs do, as a
// plan Runner. Defaults and collection keys come from lib/iis/schema-subset.ts.
//
// What it assumes of appcmd (not checked on a real IIS here): `/-[key]` of an entry inherited
// from a parent level writes a <remove>, and of one added at the same level deletes that <add>;
// `/+[...]` of a key already in effect fails; `clear config path -section:S /a.b` deletes
// attribute or element a.b at that level and succeeds when there is none; `list config path
// -section:S /text:a.b` prints the value in effect there (the nearest level that sets it, else
// the schema's default). Elements left without attributes, children or entries are no
// configuration and are dropped, as are empty locations.
import type { CommandResult } from '../../../lib/iis/run-plan.js';
import { type ElementSchema, objects, sections } from '../../../lib/iis/schema-subset.js';
import { type Entry, parseAppcmd, type Segment } from './appcmd-syntax.js';

interface ConfigNode {
  attributes: Map<string, string>;
  children: Map<string, ConfigNode>;
  entries: { op: 'add' | 'remove'; node: ConfigNode }[];
}

const newNode = (): ConfigNode => ({ attributes: new Map(), children: new Map(), entries: [] });
const ok = (output = ''): CommandResult => ({ code: 0, output });
const error = (message: string): CommandResult => ({ code: 1, output: `ERROR ( message:${message} )` });

function keyOf(node: ConfigNode, key: readonly string[]): string {
  return key.map((k) => `${k}=${node.attributes.get(k) ?? ''}`).join(',');
}
function entryKey(entry: Entry, key: readonly string[]): string {
  return key.map((k) => `${k}=${entry.attributes.get(k) ?? ''}`).join(',');
}

function isEmpty(node: ConfigNode): boolean {
  return node.attributes.size === 0 && node.children.size === 0 && node.entries.length === 0;
}

function prune(node: ConfigNode): void {
  for (const [name, child] of node.children) {
    prune(child);
    if (isEmpty(child)) node.children.delete(name);
  }
  for (const entry of node.entries) prune(entry.node);
}

function serialize(node: ConfigNode, indent: string): string[] {
  const lines = [...node.attributes].sort().map(([k, v]) => `${indent}@${k}=${JSON.stringify(v)}`);
  for (const entry of node.entries) {
    lines.push(`${indent}<${entry.op}>`, ...serialize(entry.node, `${indent}  `));
  }
  for (const [name, child] of [...node.children].sort(([a], [b]) => a.localeCompare(b))) {
    lines.push(`${indent}${name}:`, ...serialize(child, `${indent}  `));
  }
  return lines;
}

/** The ancestors of a config path, server level ('') first. */
function locationChain(location: string): string[] {
  if (location === '') return [''];
  const parts = location.split('/');
  return ['', ...parts.map((_, i) => parts.slice(0, i + 1).join('/'))];
}

export class AppHostModel {
  readonly pools = new Map<string, Map<string, string>>();
  /** site name -> its attributes and its applications (path -> attributes). */
  readonly sites = new Map<
    string,
    { attributes: Map<string, string>; apps: Map<string, Map<string, string>> }
  >();
  /** config path ('' for server level) -> section name -> element. */
  readonly locations = new Map<string, Map<string, ConfigNode>>();
  readonly registry = new Map<string, number>();
  readonly grants = new Map<string, Set<string>>();
  /** Every command run, for the tests' assertions. */
  readonly log: string[] = [];

  addSite(name: string, id: number): void {
    this.sites.set(name, { attributes: new Map([['id', String(id)]]), apps: new Map([['/', new Map()]]) });
  }

  /** Sets an attribute directly, as an administrator (or IIS Manager) would have. */
  preset(location: string, section: string, path: string, value: string): void {
    const node = this.#sectionNode(location, section, true)!;
    const names = path.split('.');
    let current = node;
    for (const name of names.slice(0, -1)) current = this.#child(current, name, true)!;
    current.attributes.set(names.at(-1)!, value);
  }

  /** Adds a collection entry directly (the server's defaults). */
  presetEntry(location: string, section: string, path: string, attributes: Record<string, string>): void {
    let current = this.#sectionNode(location, section, true)!;
    for (const name of path === '' ? [] : path.split('.')) current = this.#child(current, name, true)!;
    const node = newNode();
    for (const [k, v] of Object.entries(attributes)) node.attributes.set(k, v);
    current.entries.push({ op: 'add', node });
  }

  /** A canonical text of everything, for comparing two states. */
  snapshot(): string {
    const lines: string[] = [];
    for (const [name, attributes] of [...this.pools].sort()) {
      lines.push(`apppool ${name}`, ...this.#effectiveObject('apppool', attributes));
    }
    for (const [name, site] of [...this.sites].sort()) {
      lines.push(`site ${name}`, ...[...site.attributes].sort().map(([k, v]) => `  @${k}=${v}`));
      for (const [path, attributes] of [...site.apps].sort()) {
        lines.push(`  app ${path}`, ...this.#effectiveObject('app', attributes).map((l) => `  ${l}`));
      }
    }
    for (const [location, sectionMap] of [...this.locations].sort()) {
      const sectionLines: string[] = [];
      for (const [section, node] of [...sectionMap].sort()) {
        prune(node);
        if (!isEmpty(node)) sectionLines.push(`  ${section}:`, ...serialize(node, '    '));
      }
      if (sectionLines.length > 0) lines.push(`location ${JSON.stringify(location)}`, ...sectionLines);
    }
    for (const [name, value] of [...this.registry].sort()) lines.push(`reg ${name}=${value}`);
    for (const [folder, who] of [...this.grants].sort()) {
      if (who.size > 0) lines.push(`grant ${folder}: ${[...who].sort().join(', ')}`);
    }
    return lines.join('\n');
  }

  /** The plan Runner: applies one command to the model. */
  run = async (program: string, args: readonly string[]): Promise<CommandResult> => {
    this.log.push([program, ...args].join(' '));
    if (program.endsWith('appcmd.exe')) return this.#appcmd(args);
    if (program === 'reg' || program.endsWith('reg.exe')) return this.#reg(args);
    if (program === 'icacls' || program.endsWith('icacls.exe')) return this.#icacls(args);
    return error(`unknown program ${program}`);
  };

  #effectiveObject(kind: 'apppool' | 'app', attributes: Map<string, string>): string[] {
    // Attributes of pools and applications are compared by the value in effect: uninstall puts
    // an inherited value back explicitly (appcmd set cannot unset an object's attribute).
    const lines: string[] = [];
    for (const [name, schema] of Object.entries(objects[kind].attributes)) {
      if (name === 'name' || name === 'site.name' || name === 'path') continue;
      const value = attributes.get(name) ?? schema.default;
      if (value !== undefined) lines.push(`  ${name}=${value}`);
    }
    return lines;
  }

  #sectionNode(location: string, section: string, create: boolean): ConfigNode | undefined {
    let sectionMap = this.locations.get(location);
    if (sectionMap === undefined) {
      if (!create) return undefined;
      sectionMap = new Map();
      this.locations.set(location, sectionMap);
    }
    let node = sectionMap.get(section);
    if (node === undefined && create) {
      node = newNode();
      sectionMap.set(section, node);
    }
    return node;
  }

  #child(node: ConfigNode, name: string, create: boolean): ConfigNode | undefined {
    let child = node.children.get(name);
    if (child === undefined && create) {
      child = newNode();
      node.children.set(name, child);
    }
    return child;
  }

  /** The schema of the element a path of names leads to. */
  #schemaAt(section: string, names: readonly string[]): ElementSchema | undefined {
    let schema: ElementSchema | undefined = sections[section];
    for (const name of names) schema = schema?.children?.[name];
    return schema;
  }

  /** The keys of a collection in effect at a location: the levels above, then this one. */
  #effectiveKeys(
    location: string,
    section: string,
    names: readonly string[],
    key: readonly string[],
  ): Set<string> {
    const keys = new Set<string>();
    for (const level of locationChain(location)) {
      let node = this.#sectionNode(level, section, false);
      for (const name of names) node = node?.children.get(name);
      for (const entry of node?.entries ?? []) {
        if (entry.op === 'add') keys.add(keyOf(entry.node, key));
        else keys.delete(keyOf(entry.node, key));
      }
    }
    return keys;
  }

  #appcmd(args: readonly string[]): CommandResult {
    const command = parseAppcmd(args);
    if (command.object === 'config') {
      const { location, section, verb } = command;
      if (sections[section] === undefined) return error(`Unknown config section "${section}"`);
      if (verb === 'list') return this.#listConfig(location, section, command.operations[0]?.segments ?? []);
      if (verb === 'clear') {
        const operation = command.operations[0];
        if (operation === undefined) {
          this.locations.get(location)?.delete(section);
          return ok();
        }
        const names = operation.segments.map((s) => ('name' in s ? s.name : ''));
        let node = this.#sectionNode(location, section, false);
        for (const name of names.slice(0, -1)) node = node?.children.get(name);
        const last = names.at(-1)!;
        node?.attributes.delete(last);
        node?.children.delete(last);
        return ok();
      }
      for (const operation of command.operations) {
        const result = this.#setOperation(
          location,
          section,
          operation.op,
          operation.segments,
          operation.value,
        );
        if (result.code !== 0) return result;
      }
      return ok('Applied configuration changes to section "' + section + '"');
    }
    return this.#object(command);
  }

  #listConfig(location: string, section: string, segments: readonly Segment[]): CommandResult {
    const names = segments.map((s) => ('name' in s ? s.name : ''));
    const attribute = names.at(-1)!;
    const chain = locationChain(location).reverse();
    for (const level of chain) {
      let node = this.#sectionNode(level, section, false);
      for (const name of names.slice(0, -1)) node = node?.children.get(name);
      const value = node?.attributes.get(attribute);
      if (value !== undefined) return ok(value);
    }
    const schema = this.#schemaAt(section, names.slice(0, -1))?.attributes[attribute];
    return schema === undefined ? error(`Unknown attribute "${attribute}"`) : ok(schema.default ?? '');
  }

  #setOperation(
    location: string,
    section: string,
    op: 'add' | 'remove' | 'set' | 'path',
    segments: readonly Segment[],
    value: string | undefined,
  ): CommandResult {
    let node = this.#sectionNode(location, section, true)!;
    let schema: ElementSchema | undefined = sections[section];
    const names: string[] = [];
    let insideEntry = false;
    for (const segment of segments.slice(0, -1)) {
      if ('name' in segment) {
        node = this.#child(node, segment.name, true)!;
        schema = schema?.children?.[segment.name];
        names.push(segment.name);
      } else {
        const key = schema?.collection?.key ?? [];
        const found = node.entries.find(
          (e) => e.op === 'add' && keyOf(e.node, key) === entryKey(segment.entry, key),
        );
        if (found === undefined) return error('Cannot find requested collection element.');
        node = found.node;
        schema = schema?.collection?.entry;
        insideEntry = true;
      }
    }
    const last = segments.at(-1)!;
    if (op === 'set') {
      if (!('name' in last) || value === undefined) return error('bad set');
      node.attributes.set(last.name, value);
      return ok();
    }
    if (!('entry' in last)) return error('a collection operation needs [key]');
    const key = schema?.collection?.key;
    if (key === undefined) return error('not a collection');
    const wanted = entryKey(last.entry, key);
    // Inside an entry (traceAreas of a rule) only this level counts; elsewhere inheritance does.
    const inEffect = insideEntry
      ? new Set(node.entries.filter((e) => e.op === 'add').map((e) => keyOf(e.node, key)))
      : this.#effectiveKeys(location, section, names, key);
    if (op === 'add') {
      if (inEffect.has(wanted)) return error('Cannot add duplicate collection entry');
      const entry = { op: 'add' as const, node: newNode() };
      for (const [k, v] of last.entry.attributes) entry.node.attributes.set(k, v);
      if (last.entry.atStart) node.entries.unshift(entry);
      else node.entries.push(entry);
      return ok();
    }
    const local = node.entries.findIndex((e) => e.op === 'add' && keyOf(e.node, key) === wanted);
    if (local >= 0) {
      node.entries.splice(local, 1);
      return ok();
    }
    if (!inEffect.has(wanted)) return error('Cannot find requested collection element.');
    const removal = { op: 'remove' as const, node: newNode() };
    for (const k of key) removal.node.attributes.set(k, last.entry.attributes.get(k) ?? '');
    node.entries.push(removal);
    return ok();
  }

  #object(command: Exclude<ReturnType<typeof parseAppcmd>, { object: 'config' }>): CommandResult {
    const { verb, attributes } = command;
    if (command.object === 'apppool') {
      if (verb === 'add') {
        const name = attributes.get('name')!;
        if (this.pools.has(name)) return error(`Failed to add duplicate collection element "${name}".`);
        this.pools.set(name, new Map([...attributes].filter(([k]) => k !== 'name')));
        return ok(`APPPOOL object "${name}" added`);
      }
      const pool = this.pools.get(command.id!);
      if (pool === undefined) return error(`Cannot find APPPOOL object with identifier "${command.id}"`);
      if (verb === 'list') {
        if (command.text === undefined) return ok(`APPPOOL "${command.id}"`);
        return ok(pool.get(command.text) ?? objects.apppool.attributes[command.text]?.default ?? '');
      }
      if (verb === 'delete') this.pools.delete(command.id!);
      else for (const [k, v] of attributes) pool.set(k, v);
      return ok();
    }
    if (command.object === 'app') {
      if (verb === 'add') {
        const site = this.sites.get(attributes.get('site.name')!);
        if (site === undefined) return error('Cannot find SITE object');
        const path = attributes.get('path')!;
        if (site.apps.has(path)) return error('Failed to add duplicate collection element');
        site.apps.set(
          path,
          new Map([...attributes].filter(([k]) => k === 'applicationPool' || k === 'physicalPath')),
        );
        return ok();
      }
      const id = command.id!;
      const slash = id.indexOf('/');
      const site = this.sites.get(id.slice(0, slash));
      const path = id.slice(slash) || '/';
      const app = site?.apps.get(path);
      if (site === undefined || app === undefined)
        return error(`Cannot find APP object with identifier "${id}"`);
      if (verb === 'list') {
        if (command.text === undefined) return ok(`APP "${id}"`);
        return ok(app.get(command.text) ?? objects.app.attributes[command.text]?.default ?? '');
      }
      if (verb === 'delete') site.apps.delete(path);
      else for (const [k, v] of attributes) app.set(k, v);
      return ok();
    }
    const site = this.sites.get(command.id ?? '');
    if (site === undefined) return error(`Cannot find SITE object with identifier "${command.id}"`);
    if (verb === 'list') {
      if (command.text === undefined) return ok(`SITE "${command.id}"`);
      return ok(site.attributes.get(command.text) ?? objects.site.attributes[command.text]?.default ?? '');
    }
    if (verb !== 'set') return error(`appcmd ${verb} site is not modelled`);
    for (const [k, v] of attributes) site.attributes.set(k, v);
    return ok();
  }

  #reg(args: readonly string[]): CommandResult {
    const [verb, key, , name] = args;
    const full = `${key}\\${name}`;
    if (verb === 'query') {
      const value = this.registry.get(full);
      if (value === undefined)
        return error('The system was unable to find the specified registry key or value.');
      return ok(`\n${key}\n    ${name}    REG_DWORD    0x${value.toString(16)}\n`);
    }
    if (verb === 'add') {
      const data = args[args.indexOf('/d') + 1];
      this.registry.set(full, Number(data));
      return ok('The operation completed successfully.');
    }
    if (verb === 'delete') {
      if (!this.registry.delete(full))
        return error('The system was unable to find the specified registry key or value.');
      return ok('The operation completed successfully.');
    }
    return error(`reg ${verb} is not modelled`);
  }

  #icacls(args: readonly string[]): CommandResult {
    const [folder, action, who] = args;
    const grants = this.grants.get(folder!) ?? new Set<string>();
    this.grants.set(folder!, grants);
    if (action === '/grant') grants.add(who!.replace(/:\(.*$/, ''));
    else if (action === '/remove:g') grants.delete(who!);
    else return error(`icacls ${action} is not modelled`);
    return ok('Successfully processed 1 files');
  }
}

/** A server as IIS installs it: Default Web Site, DefaultAppPool, IIS's request-filtering lists. */
export function freshServer(
  extensions: readonly string[],
  segments: readonly string[],
  siteName = 'Default Web Site',
): AppHostModel {
  const model = new AppHostModel();
  model.pools.set('DefaultAppPool', new Map());
  model.addSite(siteName, 1);
  const filtering = 'system.webServer/security/requestFiltering';
  for (const fileExtension of extensions) {
    model.presetEntry('', filtering, 'fileExtensions', { fileExtension, allowed: 'false' });
  }
  for (const segment of segments) model.presetEntry('', filtering, 'hiddenSegments', { segment });
  model.presetEntry('', 'system.webServer/handlers', '', { name: 'StaticFile', path: '*', verb: '*' });
  model.preset('', 'system.webServer/security/authentication/anonymousAuthentication', 'enabled', 'true');
  model.preset('', 'system.webServer/security/authentication/windowsAuthentication', 'enabled', 'false');
  return model;
}
