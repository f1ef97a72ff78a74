/**
 * `webtoon report`: the rebalancing report over the configured database (migrated first, so an empty
 * database prints a valid empty report). Output on stdout; `--chart` also writes a PNG bar chart.
 */
import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.ts';

interface ReportFlags {
  format: 'table' | 'json' | 'csv';
  since?: string;
  direction?: 'a2b' | 'b2a';
  modelVersion?: string;
  chart?: string;
}

const HELP_AFTER = `
Per direction × model version × attribute: generations (successful ones), rated generations,
up share (👍 / all votes), reports, report rate (reports / generations) and its change against the
previous model version of the same direction (oldest first by registration time).

The ranking lists, for the latest version of each direction in the window (or --model-version),
the attributes reported most, with an oversampling factor for target-domain training images that
carry the attribute (domain B for a2b, A for b2a):
  factor = clamp(rate / baseline, 1, 4), baseline = mean report rate over the 12 image attributes
  (all but "other"); attributes with fewer than 3 reports get 1.

Examples:
  webtoon report
  webtoon report --format json --since 30d --direction a2b
  webtoon report --format csv --model-version v2 > v2.csv
  webtoon report --chart failures.png
`;

export default function register(program: Command): void {
  program
    .command('report')
    .description('rebalancing report: which attributes the model loses, per direction and model version')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .option('--since <when>', 'only generations since an ISO date/time (2026-02-01) or a duration (12h, 30d, 2w)')
    .addOption(new Option('-d, --direction <direction>', 'only one direction').choices(['a2b', 'b2a']))
    .option('-m, --model-version <version>', 'only one model version (its change is still against its predecessor)')
    .option('--chart <file.png>', 'also write the report rates as a bar chart PNG')
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: ReportFlags) => {
      const { parseSince } = await import('../parse-since.ts');
      const { buildReport } = await import('../../db/report.ts');
      let since: Date | undefined;
      try {
        since = flags.since === undefined ? undefined : parseSince(flags.since);
      } catch (err) {
        throw new UsageError(`--since: ${(err as Error).message.replace(/^since: /, '')}`);
      }
      if (flags.modelVersion !== undefined && flags.modelVersion.trim() === '') throw new UsageError('--model-version: expected a non-empty version');
      if (flags.chart !== undefined && !/\.png$/i.test(flags.chart)) throw new UsageError(`--chart: expected a file name ending in .png, received ${JSON.stringify(flags.chart)}`);

      const { config } = await import('../../config.ts');
      const { withMigratedDatabase } = await import('../../db/client.ts');
      const { formatReport } = await import('../../db/report-format.ts');
      const report = await withMigratedDatabase(config(), (handle) => buildReport(handle, { since, direction: flags.direction, modelVersion: flags.modelVersion }));
      process.stdout.write(formatReport(report, flags.format));
      if (flags.chart !== undefined) {
        const { writeFile } = await import('node:fs/promises');
        const { renderReportChart } = await import('../../db/report-chart.ts');
        const { moduleLogger } = await import('../../logger.ts');
        await writeFile(flags.chart, await renderReportChart(report));
        moduleLogger('report').info({ chart: flags.chart }, 'chart written');
      }
    });
}
