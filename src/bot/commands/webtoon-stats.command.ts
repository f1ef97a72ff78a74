import { AttachmentBuilder, EmbedBuilder, SlashCommandBuilder } from 'discord.js';
import { buildReport, type RebalancingReport } from '../../db/report.ts';
import { DIRECTION_LABEL } from '../reply.render.ts';
import type { Command } from './index.ts';

export const STATS_CHART_NAME = 'webtoon-stats.png';

const pct = (x: number | null) => (x === null ? '—' : `${Math.round(x * 100)}%`);

/** The embed for /webtoon-stats: per serving model, ratings and the most-reported attributes. */
export function statsEmbed(report: RebalancingReport, serving: Record<'a2b' | 'b2a', string | null>, hasChart: boolean): EmbedBuilder {
  const embed = new EmbedBuilder().setTitle('Community ratings').setColor(0xff7eb6);
  for (const direction of ['a2b', 'b2a'] as const) {
    const version = serving[direction];
    if (!version) {
      embed.addFields({ name: DIRECTION_LABEL[direction], value: 'No model is serving this direction.' });
      continue;
    }
    const v = report.versions.find((s) => s.direction === direction && s.modelVersion === version);
    const top = report.rows
      .filter((r) => r.direction === direction && r.modelVersion === version && r.reports > 0)
      .sort((a, b) => b.reports - a.reports)
      .slice(0, 5)
      .map((r) => `${r.emoji} ${r.label}: ${r.reports} (${pct(r.reportRate)} of results)`);
    const lines = v
      ? [
          `Model \`${version}\`: ${v.generations} results, 👍 ${v.upVotes} / 👎 ${v.downVotes} (${pct(v.upShare)} positive)` +
            (v.upShareChange !== null && v.previousModelVersion ? `, ${v.upShareChange >= 0 ? '+' : ''}${Math.round(v.upShareChange * 100)} pts vs \`${v.previousModelVersion}\`` : ''),
          top.length ? `Most reported: ${top.join(' · ')}` : 'No problem reports yet.',
        ]
      : [`Model \`${version}\`: no results yet.`];
    embed.addFields({ name: DIRECTION_LABEL[direction], value: lines.join('\n').slice(0, 1024) });
  }
  if (hasChart) embed.setImage(`attachment://${STATS_CHART_NAME}`);
  return embed;
}

/**
 * /webtoon-stats — community ratings and the most-reported attributes for the serving models, with the
 * chart. Limited per member (RATE_LIMIT_STATS_PER_MIN): each one runs the report's queries and renders a chart.
 */
export default {
  data: new SlashCommandBuilder().setName('webtoon-stats').setDescription('Community ratings and most-reported problems of the current models'),
  async execute(interaction, ctx) {
    await ctx.rateLimits.take('stats', interaction.user.id, interaction.guildId);
    await interaction.deferReply();
    const [report, serving] = await Promise.all([buildReport(ctx.database), ctx.inference.modelVersions().catch(() => ({ a2b: null, b2a: null }))]);
    let chart: Buffer | null = null;
    if (ctx.renderChart) {
      chart = await ctx.renderChart(report).catch((err: unknown) => {
        ctx.log.warn({ err }, 'could not render the stats chart');
        return null;
      });
    }
    await interaction.editReply({
      embeds: [statsEmbed(report, serving, chart !== null)],
      files: chart ? [new AttachmentBuilder(chart, { name: STATS_CHART_NAME })] : [],
    });
  },
} satisfies Command;
