/**
 * End to end (the bot's real entry against the local Discord stand-in, the real worker and PGlite):
 * the three output modes, variation buttons pressed by the requester and by someone else, refusals
 * kept private, /reverse without a webtoon face, and the commands used through a member's own
 * install in a DM, a group DM and a server that did not add the bot.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countRows, dbTargets, useTestDatabase } from '../helpers/databases.ts';
import type { InteractionPlace, InteractionRecord, StandInUser, StoredMessage } from '../discord-stand-in/discord-stand-in.ts';
import { ASTRONAUT, startHarness, type Harness } from './bot-harness.ts';

const EPHEMERAL = 64;
const astronaut = readFileSync(ASTRONAUT);

/** What the member ends up seeing: the final original response, or the private follow-up that replaced it. */
async function finalReply(h: Harness, rec: InteractionRecord, timeoutMs = 60_000): Promise<StoredMessage> {
  return h.standIn.waitFor(
    () => {
      const privately = h.standIn.followUps(rec.id).find((f) => (f.flags & EPHEMERAL) !== 0);
      if (privately) return privately;
      const m = h.standIn.original(rec.id);
      return m && !m.deleted && (m.flags & 128) === 0 && !m.content.startsWith('⏳') ? m : undefined;
    },
    `the final reply to ${rec.payload.data.name ?? rec.payload.data.custom_id}`,
    timeoutMs,
  );
}

async function translate(
  h: Harness,
  user: StandInUser,
  bytes: Buffer,
  options: Record<string, string | boolean> = {},
  command = 'webtoonify',
  place: InteractionPlace = 'guild',
) {
  const meta = await sharp(bytes).metadata();
  const att = h.standIn.addAttachment(bytes, 'selfie.png', 'image/png', { width: meta.width!, height: meta.height! });
  const rec = h.standIn.sendSlashCommand(user, command, { image: att, ...options }, place);
  const ack = await h.standIn.waitForCallback(rec);
  const reply = await finalReply(h, rec);
  return { rec, ack, reply, att };
}

/** The generation of a result message (its id is attached right after the reply is edited, so wait for it). */
async function rowOf(h: Harness, messageId: string) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const row = await h.feedback.findGenerationByMessageId(messageId);
    if (row) return row;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no generation holds message ${messageId}`);
}

const buttonIds = (m: StoredMessage): string[] => m.components.flatMap((row: { components: { custom_id: string }[] }) => row.components.map((c) => c.custom_id));
const fieldsOf = (m: StoredMessage): Record<string, string> => Object.fromEntries(m.embeds[0].fields.map((f: { name: string; value: string }) => [f.name, f.value]));
const size = async (m: StoredMessage) => {
  const meta = await sharp(m.files[0].bytes).metadata();
  return [meta.width, meta.height];
};

describe('output modes, variations and user installs (pglite)', () => {
  const pglite = dbTargets.find((t) => t.kind === 'pglite')!;
  const db = useTestDatabase(pglite);
  let h: Harness;
  let alice: StandInUser;
  let bob: StandInUser;
  let first: { reply: StoredMessage; generationId: number };

  beforeAll(async () => {
    h = await startHarness({ database: db(), env: { RATE_LIMIT_USER_PER_MIN: '4' } });
    alice = h.standIn.makeUser('alice');
    bob = h.standIn.makeUser('bob');
  });
  afterAll(async () => {
    await h?.dispose();
  });

  describe('the output option', () => {
    it('face: the translated square, with the report button and the variation buttons for the other modes', async () => {
      const { reply } = await translate(h, alice, astronaut, { output: 'face' });
      expect(await size(reply)).toEqual([256, 256]);
      expect(fieldsOf(reply).Output).toBe('Face');
      const row = await rowOf(h, reply.id);
      expect(row).toMatchObject({ outputMode: 'face', parentGenerationId: null, status: 'ok' });
      const id = row!.id;
      expect(buttonIds(reply)).toEqual([`report:${id}`, `var:${id}:photo`, `var:${id}:side_by_side`, `var:${id}:attention`, `var:${id}:512`]);
      first = { reply, generationId: id };
    });

    it('photo: the whole picture at its own size', async () => {
      const { reply } = await translate(h, bob, astronaut, { output: 'photo' });
      expect(await size(reply)).toEqual([512, 512]);
      expect(fieldsOf(reply).Output).toBe('Whole photo');
      const row = await rowOf(h, reply.id);
      expect(row).toMatchObject({ outputMode: 'photo', status: 'ok' });
      expect(buttonIds(reply)).toEqual([`report:${row!.id}`, `var:${row!.id}:face`, `var:${row!.id}:side_by_side`, `var:${row!.id}:attention`]);
    });

    it('side_by_side: input crop | face (and the older side_by_side flag still means it)', async () => {
      const { reply } = await translate(h, bob, astronaut, { output: 'side_by_side' });
      expect(await size(reply)).toEqual([512, 256]);
      const legacy = await translate(h, bob, astronaut, { side_by_side: true });
      expect(await size(legacy.reply)).toEqual([512, 256]);
      expect(await rowOf(h, legacy.reply.id)).toMatchObject({ outputMode: 'side_by_side' });
    });
  });

  describe('variation buttons', () => {
    it('the requester gets a new public result from the original picture (downloaded again), linked to the one it came from', async () => {
      const downloads = h.standIn.downloads.length;
      const click = h.standIn.clickButton(alice, first.reply, `var:${first.generationId}:photo`);
      const ack = await h.standIn.waitForCallback(click);
      expect(ack.type).toBe(5);
      expect(ack.data.flags ?? 0).toBe(0);
      const reply = await finalReply(h, click);
      expect(reply.id).not.toBe(first.reply.id);
      expect(await size(reply)).toEqual([512, 512]);
      expect(h.standIn.downloads.length).toBe(downloads + 1); // fetched again from Discord, not kept
      const row = await rowOf(h, reply.id);
      expect(row).toMatchObject({
        userId: alice.id,
        outputMode: 'photo',
        parentGenerationId: first.generationId,
        status: 'ok',
        inputSha256: createHash('sha256').update(astronaut).digest('hex'),
      });
      // votes and reports work on it like on any result
      await h.standIn.waitFor(() => reply.reactions.get('👍')?.has(h.standIn.botUser.id), 'the vote reactions');
      h.standIn.react(bob, reply.id, '👎');
      await expect.poll(() => h.feedback.voteOf(row!.id, bob.id)).toBe('down');
      expect(buttonIds(reply)[0]).toBe(`report:${row!.id}`);

      // attention on, then 512 px: each its own generation
      const att = h.standIn.clickButton(alice, first.reply, `var:${first.generationId}:attention`);
      const attReply = await finalReply(h, att);
      await expect.poll(() => h.feedback.findGenerationByMessageId(attReply.id)).toMatchObject({ parentGenerationId: first.generationId, outputMode: 'face' });
      expect(buttonIds(attReply)).toContain(`var:${(await rowOf(h, attReply.id))!.id}:attention`);
      expect(attReply.components[1].components.find((c: { label: string }) => c.label === 'Attention off')).toBeDefined();
    });

    it('someone else gets a short private explanation, and nothing is translated or recorded', async () => {
      const before = await countRows(h.database, 'generations');
      const downloads = h.standIn.downloads.length;
      const click = h.standIn.clickButton(bob, first.reply, `var:${first.generationId}:512`);
      const cb = await h.standIn.waitForCallback(click);
      expect(cb.type).toBe(4);
      expect(cb.data.flags).toBe(EPHEMERAL);
      expect(cb.data.content).toContain('Only the member who asked for this picture can make variations of it');
      expect(h.standIn.downloads.length).toBe(downloads);
      expect(await countRows(h.database, 'generations')).toBe(before);
    });

    it('counts against the same rate limit as commands', async () => {
      // alice: 1 command + 2 variations so far this minute; one more passes, the next is refused privately
      const ok = await finalReply(h, h.standIn.clickButton(alice, first.reply, `var:${first.generationId}:512`));
      expect(await size(ok)).toEqual([512, 512]);
      const before = await countRows(h.database, 'generations');
      const click = h.standIn.clickButton(alice, first.reply, `var:${first.generationId}:side_by_side`);
      const cb = await h.standIn.waitForCallback(click);
      expect(cb.data.flags).toBe(EPHEMERAL);
      expect(cb.data.content).toMatch(/limit of 4 translations per minute/);
      await new Promise((r) => setTimeout(r, 500)); // a refused request writes no generation row
      expect(await countRows(h.database, 'generations')).toBe(before);
    });
  });

  describe('refusals stay private', () => {
    it('/reverse without a webtoon face: the public reply is removed and the member is asked, privately, for a drawing', async () => {
      const grey = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#8a8a8a' } }).png().toBuffer();
      const carol = h.standIn.makeUser('carol');
      const { rec, ack, reply } = await translate(h, carol, grey, {}, 'reverse');
      expect(ack.type).toBe(5);
      expect(ack.data.flags ?? 0).toBe(0); // results are public, so the deferral is
      expect(reply.flags & EPHEMERAL).toBe(EPHEMERAL);
      expect(reply.content).toContain("couldn't find a webtoon face");
      expect(reply.content).toContain('send a drawing of a face');
      expect(h.standIn.original(rec.id)!.deleted).toBe(true);
      // nothing public is left in the channel from this request
      const visible = [...h.standIn.messages.values()].filter((m) => m.interaction_id === rec.id && !m.deleted && (m.flags & EPHEMERAL) === 0);
      expect(visible).toEqual([]);
    });

    it('an unreadable file found after the download is told privately too', async () => {
      const dave = h.standIn.makeUser('dave');
      const att = h.standIn.addAttachment(Buffer.from('not really a png'), 'x.png', 'image/png', { width: 300, height: 300 });
      const rec = h.standIn.sendSlashCommand(dave, 'webtoonify', { image: att });
      const reply = await finalReply(h, rec);
      expect(reply.flags & EPHEMERAL).toBe(EPHEMERAL);
      expect(reply.content).toMatch(/can't read that kind of file|damaged/);
      expect(h.standIn.original(rec.id)!.deleted).toBe(true);
    });
  });

  describe('user-installed', () => {
    it("works in the member's DM with the bot: the result, votes and a DM generation without a server", async () => {
      const erin = h.standIn.makeUser('erin');
      const { rec, reply } = await translate(h, erin, astronaut, { output: 'photo' }, 'webtoonify', 'bot-dm');
      expect(rec.payload.guild_id).toBeUndefined();
      expect(reply.channel_id).toBe(h.standIn.dmChannelOf(erin));
      expect(await size(reply)).toEqual([512, 512]);
      const row = await rowOf(h, reply.id);
      expect(row).toMatchObject({ userId: erin.id, guildId: null, channelId: h.standIn.dmChannelOf(erin), outputMode: 'photo', status: 'ok' });
      await h.standIn.waitFor(() => reply.reactions.get('👍')?.has(h.standIn.botUser.id), 'the vote reactions in the DM');
      h.standIn.react(erin, reply.id, '👍');
      await expect.poll(() => h.feedback.voteOf(row!.id, erin.id)).toBe('up');
      // and the variation buttons work there too
      const v = await finalReply(h, h.standIn.clickButton(erin, reply, `var:${row!.id}:face`, 'bot-dm'));
      expect(await size(v)).toEqual([256, 256]);
    });

    it('works in a group DM and in a server that did not add the bot (no reactions where the bot is not present)', async () => {
      const finn = h.standIn.makeUser('finn');
      const dm = await translate(h, finn, astronaut, {}, 'webtoonify', 'private-channel');
      expect(dm.reply.files).toHaveLength(1);
      await expect.poll(() => h.feedback.findGenerationByMessageId(dm.reply.id)).toMatchObject({ guildId: null, status: 'ok' });
      const elsewhere = await translate(h, finn, astronaut, {}, 'webtoonify', 'guild-user-install');
      expect(elsewhere.reply.files).toHaveLength(1);
      await expect.poll(() => h.feedback.findGenerationByMessageId(elsewhere.reply.id)).toMatchObject({ guildId: elsewhere.rec.payload.guild_id, status: 'ok' });
      await new Promise((r) => setTimeout(r, 300));
      expect(dm.reply.reactions.size).toBe(0);
      expect(elsewhere.reply.reactions.size).toBe(0);
    });

    it('answers /webtoon-help in a DM', async () => {
      const rec = h.standIn.sendSlashCommand(h.standIn.makeUser('gail'), 'webtoon-help', {}, 'bot-dm');
      const cb = await h.standIn.waitForCallback(rec);
      expect(cb.data.flags).toBe(EPHEMERAL);
      expect(cb.data.embeds[0].fields.find((f: { name: string }) => f.name === 'Privacy').value).toContain('never stored');
      // a picture of each output mode
      expect(cb.files.map((f) => f.filename)).toEqual(['output-face.jpg', 'output-photo.jpg', 'output-side-by-side.jpg']);
      expect(cb.data.embeds.slice(1).map((e: { image: { url: string } }) => e.image.url)).toEqual(cb.files.map((f) => `attachment://${f.filename}`));
      for (const f of cb.files) expect(f.bytes.length).toBeLessThan(200 * 1024);
    });
  });

  it('sent nothing the stand-in did not understand', () => {
    expect(h.standIn.unknownRequests).toEqual([]);
  });
});
