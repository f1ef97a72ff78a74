/**
 * `webtoon db migrate`: apply the committed migrations to the configured database (DATABASE_URL, else
 * PGlite under DATA_DIR). `webtoon db forget-user <userId>`: erase a member on request.
 * Both always close the database and exit non-zero on failure.
 */
import type { Command } from 'commander';

export default function register(program: Command): void {
  const db = program.command('db').description('feedback store maintenance (Postgres via DATABASE_URL, else PGlite under DATA_DIR)');

  db.command('migrate')
    .description('apply pending SQL migrations from migrations/ (the bot and the worker also do this at start)')
    .action(async () => {
      const { config } = await import('../../config.ts');
      const { withMigratedDatabase } = await import('../../db/client.ts');
      await withMigratedDatabase(config(), async (handle, res) => {
        process.stdout.write(`${handle.kind} ${handle.location}: ${res.applied} migration(s) applied, ${res.available} in total, up to date\n`);
      });
    });

  db.command('forget-user')
    .description("erase a member: delete their ratings and attribute reports, anonymise their generations; prints the counts as JSON")
    .argument('<userId>', 'Discord user id')
    .action(async (userId: string) => {
      const { config } = await import('../../config.ts');
      const { withMigratedDatabase } = await import('../../db/client.ts');
      const { FeedbackService } = await import('../../db/feedback.service.ts');
      await withMigratedDatabase(config(), async (handle) => {
        const res = await new FeedbackService(handle).forgetUser(userId);
        process.stdout.write(`${JSON.stringify(res)}\n`);
      });
    });
}
