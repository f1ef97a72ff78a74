/**
 * The stand-in itself, driven by the real discord.js client (no bot code): it must refuse what
 * Discord refuses, so the bot's tests cannot pass against a too-lenient fake.
 */
import { Client, Events, GatewayIntentBits, REST, Routes } from 'discord.js';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordStandIn } from './discord-stand-in.ts';

describe('DiscordStandIn', () => {
  let sut: DiscordStandIn;
  beforeAll(async () => {
    sut = new DiscordStandIn();
    await sut.start();
  });
  afterAll(async () => {
    await sut.stop();
  });

  describe('gateway', () => {
    it('lets discord.js log in (hello, identify, ready, guild create) and caches the guild', async () => {
      const client = new Client({ rest: { api: sut.apiUrl }, intents: [GatewayIntentBits.Guilds] });
      const ready = new Promise<void>((r) => client.once(Events.ClientReady, () => r()));
      await client.login(sut.token);
      await ready;
      expect(client.user?.id).toBe(sut.botUser.id);
      expect(client.guilds.cache.get(sut.guildId)?.name).toBe('Stand-in Guild');
      expect(sut.identifies.at(-1)).toMatchObject({ token: sut.token, shard: [0, 1] });
      await client.destroy();
      await sut.waitFor(() => sut.readySessions === 0, 'the session to close');
    });

    it('closes with 4004 on a wrong token, as Discord does', async () => {
      const ws = new WebSocket(`${sut.gatewayUrl}?v=10&encoding=json`);
      const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
      ws.on('message', (raw) => {
        if (JSON.parse(String(raw)).op === 10) ws.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
      });
      expect(await closed).toBe(4004);
    });
  });

  describe('REST', () => {
    it('answers 401 without the bot token and records unknown routes as 404', async () => {
      const anonymous = await fetch(`${sut.apiUrl}/v10/users/@me`);
      expect(anonymous.status).toBe(401);
      const rest = new REST({ api: sut.apiUrl, retries: 0 }).setToken(sut.token);
      await expect(rest.get(Routes.guildMembers(sut.guildId))).rejects.toMatchObject({ status: 404 });
      expect(sut.unknownRequests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /api/v10/guilds/${sut.guildId}/members`]);
    });

    it('refuses a second acknowledgement of the same interaction (40060) and an unknown token', async () => {
      const rec = sut.sendSlashCommand(sut.makeUser('x'), 'webtoon-help');
      const rest = new REST({ api: sut.apiUrl, retries: 0 });
      await rest.post(Routes.interactionCallback(rec.id, rec.token), { body: { type: 5 }, auth: false });
      await expect(rest.post(Routes.interactionCallback(rec.id, rec.token), { body: { type: 5 }, auth: false })).rejects.toMatchObject({ code: 40060 });
      await expect(rest.post(Routes.interactionCallback(rec.id, 'forged'), { body: { type: 5 }, auth: false })).rejects.toMatchObject({ code: 10062 });
    });

    it('stores multipart edits with their files and refuses reactions on ephemeral messages', async () => {
      const rec = sut.sendSlashCommand(sut.makeUser('y'), 'webtoonify');
      const rest = new REST({ api: sut.apiUrl, retries: 0 }).setToken(sut.token);
      await rest.post(Routes.interactionCallback(rec.id, rec.token), { body: { type: 5, data: { flags: 64 } }, auth: false });
      await rest.patch(Routes.webhookMessage(sut.applicationId, rec.token, '@original'), {
        body: { content: 'done', attachments: [{ id: 0 }] },
        files: [{ name: 'a.png', data: Buffer.from([1, 2, 3]), contentType: 'image/png' }],
        auth: false,
      });
      const original = sut.original(rec.id)!;
      expect(original.content).toBe('done');
      expect(original.flags).toBe(64); // still ephemeral, no longer "thinking"
      expect(original.files.map((f) => [f.filename, [...f.bytes]])).toEqual([['a.png', [1, 2, 3]]]);
      await expect(rest.put(Routes.channelMessageOwnReaction(sut.channelId, original.id, encodeURIComponent('👍')))).rejects.toMatchObject({ status: 400 });
    });
  });
});
