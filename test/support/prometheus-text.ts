// The Prometheus text exposition format, checked by a parser: parse-prometheus-text-format
// (it throws on a line it cannot read), plus what that parser lets pass but Prometheus does
// not: every family declared once with HELP and TYPE before its samples, names and label
// names of the allowed characters, every value a number.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  metrics: Array<{ value?: string; labels?: Record<string, string> }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
/** Go's ParseFloat, which Prometheus uses: NaN and Inf in any case. */
const NUMBER = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf|nan)$/i;

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const declared = new Map<string, { help: boolean; type: boolean; samples: boolean }>();
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
    if (meta !== null) {
      const name = meta[2] ?? '';
      const seen = declared.get(name) ?? { help: false, type: false, samples: false };
      if (seen.samples) throw new Error(`# ${meta[1]} ${name} after its samples`);
      if (meta[1] === 'HELP') {
        if (seen.help) throw new Error(`two HELP lines for ${name}`);
        seen.help = true;
      } else {
        if (seen.type) throw new Error(`two TYPE lines for ${name}`);
        seen.type = true;
      }
      declared.set(name, seen);
    }
  }
  const families = new Map<string, MetricFamily>();
  for (const family of parsePrometheusTextFormat(text) as MetricFamily[]) {
    if (!NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`);
    if (families.has(family.name)) throw new Error(`${family.name} appears twice`);
    const seen = declared.get(family.name);
    if (seen === undefined || !seen.type || !seen.help) throw new Error(`${family.name} lacks HELP or TYPE`);
    for (const metric of family.metrics) {
      for (const label of Object.keys(metric.labels ?? {})) {
        if (!LABEL.test(label)) throw new Error(`bad label name ${label} in ${family.name}`);
      }
      if (metric.value !== undefined && !NUMBER.test(metric.value)) {
        throw new Error(`${family.name}: value ${metric.value} is not a number`);
      }
    }
    families.set(family.name, family);
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function sample(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const family = families.get(name);
  if (family === undefined) throw new Error(`no metric ${name}`);
  const matching = family.metrics.filter((m) =>
    Object.entries(labels).every(([key, value]) => m.labels?.[key] === value),
  );
  if (matching.length !== 1)
    throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return Number(matching[0]?.value);
}
