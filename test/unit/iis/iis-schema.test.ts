// Every appcmd step of install (with and without --raise-http-limits), uninstall (with and
// without install's state) and trace --freb on/off writes only sections, elements and
// attributes of the IIS configuration schema subset in lib/iis/schema-subset.ts, with valid
// values, for both bitnesses, the site root and nested virtual directories, and site names with
// spaces; every printed command line splits back into the same arguments.
import assert from 'node:assert/strict';
import { frebPlan } from '../../../lib/iis/freb-plan.js';
import { httpSysLimits } from '../../../lib/iis/http-sys-limits.js';
import { mergeInstallState } from '../../../lib/iis/install-state.js';
import {
  configPath,
  type PlanStep,
  type RegistrationOptions,
  registrationPlan,
} from '../../../lib/iis/registration-plan.js';
import { defaultDeniedExtensions, defaultHiddenSegments } from '../../../lib/iis/request-filtering.js';
import { printedPrograms, runPlan, stepCommandLine } from '../../../lib/iis/run-plan.js';
import {
  type AttributeSchema,
  type ElementSchema,
  objects,
  sections,
  valueProblem,
} from '../../../lib/iis/schema-subset.js';
import { uninstallPlan } from '../../../lib/iis/uninstall-plan.js';
import { type Entry, parseAppcmd, type Segment, splitWindowsCommandLine } from './appcmd-syntax.js';
import { freshServer } from './apphost-model.js';

function entryProblems(schema: ElementSchema, entry: Entry, op: 'add' | 'remove' | 'path'): string[] {
  const collection = schema.collection;
  if (collection === undefined) return ['an entry where the schema has no collection'];
  const problems: string[] = [];
  for (const key of collection.key) {
    if (!entry.attributes.has(key)) problems.push(`entry without its key ${key}`);
  }
  if (op !== 'add') {
    for (const name of entry.attributes.keys()) {
      if (!collection.key.includes(name))
        problems.push(`${name} given to find an entry, which only its key does`);
    }
    return problems;
  }
  for (const [name, attribute] of Object.entries(collection.entry.attributes)) {
    if (attribute.type === 'string' && attribute.nonEmpty === true && attribute.default === undefined) {
      if (!entry.attributes.has(name)) problems.push(`entry without the required ${name}`);
    }
  }
  for (const [name, value] of entry.attributes) {
    const attribute = collection.entry.attributes[name];
    if (attribute === undefined) problems.push(`entry attribute ${name} is not in the schema`);
    else {
      const problem = valueProblem(attribute, value);
      if (problem !== undefined) problems.push(`${name}: ${problem}`);
    }
  }
  return problems;
}

/** Walks an operation's path through the schema; the problems found. */
function pathProblems(
  section: ElementSchema,
  segments: readonly Segment[],
  op: 'add' | 'remove' | 'set' | 'path',
  value: string | undefined,
): string[] {
  let schema: ElementSchema = section;
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    if ('entry' in segment) {
      const problems = entryProblems(schema, segment.entry, last ? (op === 'set' ? 'path' : op) : 'path');
      if (problems.length > 0 || last) return problems;
      schema = schema.collection!.entry;
      continue;
    }
    if (!last) {
      const child = schema.children?.[segment.name];
      if (child === undefined) return [`no element ${segment.name}`];
      schema = child;
      continue;
    }
    if (op === 'add' || op === 'remove')
      return [`/${op === 'add' ? '+' : '-'} needs an entry, not ${segment.name}`];
    const attribute: AttributeSchema | undefined = schema.attributes[segment.name];
    if (attribute === undefined) {
      // clear config may drop a whole child element.
      return op === 'path' && schema.children?.[segment.name] !== undefined
        ? []
        : [`no attribute ${segment.name}`];
    }
    if (op === 'set') {
      const problem = valueProblem(attribute, value ?? '');
      return problem === undefined ? [] : [`${segment.name}: ${problem}`];
    }
    return [];
  }
  return segments.length === 0 && op !== 'path' ? ['an operation without a path'] : [];
}

function appcmdProblems(args: readonly string[]): string[] {
  let command;
  try {
    command = parseAppcmd(args);
  } catch (error) {
    return [(error as Error).message];
  }
  if (command.object === 'config') {
    const section = sections[command.section];
    if (section === undefined) return [`section ${command.section} is not in the schema subset`];
    const problems: string[] = [];
    if (section.serverOnly === true && command.location !== '')
      problems.push(`${command.section} is server level only`);
    if (command.verb !== 'list' && !command.commit) problems.push('not committed to applicationHost.config');
    for (const operation of command.operations) {
      problems.push(...pathProblems(section, operation.segments, operation.op, operation.value));
    }
    return problems;
  }
  const schema = objects[command.object];
  const problems: string[] = [];
  for (const [name, value] of command.attributes) {
    const attribute = schema.attributes[name];
    if (attribute === undefined) problems.push(`${command.object} has no attribute ${name}`);
    else {
      const problem = valueProblem(attribute, value);
      if (problem !== undefined) problems.push(`${name}: ${problem}`);
    }
  }
  if (command.text !== undefined && schema.attributes[command.text] === undefined)
    problems.push(`${command.object} has no attribute ${command.text}`);
  return problems;
}

function regProblems(args: readonly string[]): string[] {
  const name = args[args.indexOf('/v') + 1];
  const limit = httpSysLimits.find((l) => l.name === name);
  if (limit === undefined) return [`registry value ${name} is not one the plans know`];
  if (args[0] !== 'add') return [];
  const data = Number(args[args.indexOf('/d') + 1]);
  if (args[args.indexOf('/t') + 1] !== 'REG_DWORD') return ['not a REG_DWORD'];
  return data >= limit.min && data <= limit.max ? [] : [`${name} ${data} outside ${limit.min}..${limit.max}`];
}

function stepProblems(step: PlanStep, location: string): string[] {
  const problems: string[] = [];
  const line = stepCommandLine(step, printedPrograms);
  assert.deepEqual(splitWindowsCommandLine(line), [printedPrograms[step.program], ...step.args], line);
  if (step.program === 'appcmd') {
    problems.push(...appcmdProblems(step.args));
    if (step.guard !== undefined) problems.push(...appcmdProblems(step.guard).map((p) => `guard: ${p}`));
    const command = parseAppcmd(step.args);
    if (command.object === 'config' && command.location !== '' && !command.location.startsWith(location))
      problems.push(`writes outside the application: ${command.location}`);
  } else if (step.program === 'reg') {
    problems.push(...regProblems(step.args));
  }
  return problems.map((p) => `${p}\n    in: ${line}`);
}

const sites = ['Default Web Site', 'Intranet Code (Kallithea)'];
const virtualDirs = ['/', '/kallithea', '/scm/kallithea'];

describe('the appcmd plans against the IIS configuration schema subset', () => {
  for (const site of sites) {
    for (const virtualDir of virtualDirs) {
      for (const bitness of [64, 32] as const) {
        it(`site "${site}", ${virtualDir}, ${bitness}-bit: install, uninstall and freb steps are valid`, async () => {
          const options: RegistrationOptions = {
            site,
            virtualDir,
            dllPath: 'C:\\Program Files\\Kallithea ISAPI\\kallithea_isapi.dll',
            physicalPath: 'C:\\Program Files\\Kallithea ISAPI',
            logFolder: 'C:\\Program Files\\Kallithea ISAPI\\logs',
            bitness,
            pool: 'Kallithea Pool',
            handlerName: 'KallitheaISAPI',
            raiseHttpLimits: true,
          };
          // The state a real install run records, so uninstall's restore steps carry values.
          const model = freshServer(defaultDeniedExtensions, defaultHiddenSegments, site);
          const outcome = await runPlan(registrationPlan(options), printedPrograms, model.run);
          assert.equal(outcome.ok, true, outcome.report.join('\n'));
          const state = mergeInstallState(undefined, options, outcome);
          const location = configPath(options);
          const freb = { site, location, slowSeconds: 75 };
          const plans = [
            registrationPlan(options),
            registrationPlan({ ...options, raiseHttpLimits: false }),
            uninstallPlan(options, state),
            uninstallPlan(options, undefined),
            frebPlan(freb, true),
            frebPlan(freb, false),
          ];
          const problems = plans.flat().flatMap((step) => stepProblems(step, location));
          assert.deepEqual(problems, []);
          assert.ok(plans.flat().filter((s) => s.program === 'appcmd').length > 80);
        });
      }
    }
  }

  it('finds what is wrong: unknown section, attribute or element, bad values, missing keys, server-only sections', () => {
    const loc = 'Default Web Site/kallithea';
    const cases: [string[], RegExp][] = [
      [['set', 'config', loc, '-section:system.webServer/nope', '/a:b', '/commit:apphost'], /not in the schema subset/],
      [['set', 'config', loc, '-section:system.webServer/security/requestFiltering', '/requestLimits.maxUrl:-1', '/commit:apphost'], /not a whole number/],
      [['set', 'config', loc, '-section:system.webServer/security/requestFiltering', '/requestLimits.maxUri:1', '/commit:apphost'], /no attribute maxUri/],
      [['set', 'config', loc, '-section:system.webServer/security/authentication/windowsAuthentication', '/enabled:yes', '/commit:apphost'], /not true or false/],
      [['set', 'config', loc, '-section:system.webServer/handlers', "/+[name='x',path='*',verb='*',requireAccess='Run']", '/commit:apphost'], /requireAccess/],
      [['set', 'config', loc, '-section:system.webServer/handlers', "/+[path='*',verb='*']", '/commit:apphost'], /without its key name/],
      [['set', 'config', loc, '-section:system.webServer/handlers', "/-[name='x',path='*']", '/commit:apphost'], /only its key does/],
      [['set', 'config', loc, '-section:system.webServer/security/isapiCgiRestriction', "/+[path='C:\\k.dll']", '/commit:apphost'], /server level only/],
      [['set', 'config', loc, '-section:system.webServer/handlers', '/accessPolicy:Read, Run', '/commit:apphost'], /Run not among/],
      [['set', 'config', loc, '-section:system.webServer/handlers', '/accessPolicy:Read'], /not committed/],
      [['set', 'config', loc, '-section:system.webServer/tracing/traceFailedRequests', "/[path='*'].failureDefinitions.timeTaken:90", '/commit:apphost'], /not hh:mm:ss/],
      [['set', 'config', loc, '-section:system.webServer/tracing/traceFailedRequests', "/[path='*'].failureDefinitions.statusCodes:5xx", '/commit:apphost'], /statusCodes/],
      [['set', 'apppool', 'Kallithea', '/managedRuntimeVersion:v3.5'], /managedRuntimeVersion/],
      [['set', 'site', 'S', '/traceFailedRequestsLogging.enable:true'], /no attribute/],
    ]; // prettier-ignore
    for (const [args, expected] of cases) {
      assert.match(appcmdProblems(args).join('\n'), expected, args.join(' '));
    }
    assert.match(
      regProblems(['add', 'HKLM\\x', '/v', 'MaxFieldLength', '/t', 'REG_DWORD', '/d', '70000', '/f']).join(),
      /outside/,
    );
  });
});
