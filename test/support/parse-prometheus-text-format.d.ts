// parse-prometheus-text-format ships no types: what test/support/prometheus-text.ts uses.
declare module 'parse-prometheus-text-format' {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
