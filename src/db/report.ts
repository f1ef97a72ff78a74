/**
 * The rebalancing report, the db wing's entry: the pure arithmetic (`report.maths.ts`), the SQL that
 * feeds it (`report.query.ts`) and its error (`report.errors.ts`). `--since` parsing is the CLI's
 * (`src/cli/parse-since.ts`); formatting is `report-format.ts`, the chart `report-chart.ts`.
 */
export * from './report.maths.ts';
export { buildReport, queryReportInput } from './report.query.ts';
export { ReportError } from './report.errors.ts';
