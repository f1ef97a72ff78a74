/**
 * A small local stand-in for Discord's REST API and gateway (API v10, JSON over WebSocket, no
 * compression). It speaks just enough for the real discord.js client to log in, receive
 * INTERACTION_CREATE and MESSAGE_REACTION_ADD/REMOVE dispatches, answer through the interaction
 * callback and webhook endpoints (JSON or multipart with files), and add reactions. It also serves
 * attachment bytes over HTTP, like Discord's CDN.
 *
 * Everything the bot sends is recorded, so tests can assert what a member would see: the messages
 * (content, embeds, components, attached files with their bytes, flags), the reactions, and every
 * request. Requests to routes it does not know are answered 404 and listed in `unknownRequests`.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { WebSocketServer, type WebSocket } from 'ws';

const DISCORD_EPOCH = 1420070400000n;
let snowflakeCounter = 0n;

/** A fresh Discord-style snowflake (timestamp in the high bits, a counter in the low ones). */
export function snowflake(): string {
  snowflakeCounter = (snowflakeCounter + 1n) & 0x3fffffn;
  return (((BigInt(Date.now()) - DISCORD_EPOCH) << 22n) | snowflakeCounter).toString();
}

export interface StandInUser {
  id: string;
  username: string;
  global_name: string | null;
  discriminator: string;
  avatar: string | null;
  bot?: boolean;
}

export interface StoredFile {
  id: string;
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface StoredMessage {
  id: string;
  channel_id: string;
  guild_id: string | null;
  author: StandInUser;
  content: string;
  embeds: any[];
  components: any[];
  /** Files attached to the message, bytes included. */
  files: StoredFile[];
  flags: number;
  /** emoji name → user ids that reacted with it. */
  reactions: Map<string, Set<string>>;
  webhook_id: string | null;
  interaction_id: string | null;
  edits: number;
  /** The content after creation and after every edit, in order (e.g. queue-position updates). */
  contentHistory: string[];
  deleted: boolean;
}

export interface CallbackRecord {
  type: number;
  data: any;
  files: StoredFile[];
  at: number;
}

export interface InteractionRecord {
  id: string;
  token: string;
  type: number;
  payload: any;
  createdAt: number;
  /** Every POST to /interactions/:id/:token/callback, in order. */
  callbacks: CallbackRecord[];
  /** The message that holds the interaction's original response, once there is one. */
  originalMessageId: string | null;
  /** Ids of follow-up messages. */
  followUpIds: string[];
  /** A modal the bot opened in answer to this interaction (callback type 9). */
  modal: any | null;
  /** Where the interaction happened: the test guild's channel, or a DM channel (guildId null). */
  channelId: string;
  guildId: string | null;
}

/**
 * Where a member runs a command. `guild` (default): in the test server, which installed the bot.
 * `guild-user-install`: in a server that did not add the bot, through the member's own install.
 * `bot-dm`: in the member's DM with the bot. `private-channel`: in another DM or group DM (user install).
 */
export type InteractionPlace = 'guild' | 'guild-user-install' | 'bot-dm' | 'private-channel';

export interface RequestRecord {
  method: string;
  path: string;
  at: number;
  status: number;
  json: any;
}

export interface StandInOptions {
  /** The bot token the stand-in accepts. */
  token?: string;
  /** The recommended shard count GET /gateway/bot reports. */
  recommendedShards?: number;
}

interface Session {
  ws: WebSocket;
  shard: [number, number];
  seq: number;
  sessionId: string;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The local Discord stand-in. `start()` it, point the bot at `apiUrl`, drive it with the `send*` methods. */
export class DiscordStandIn extends EventEmitter {
  readonly token: string;
  readonly applicationId = snowflake();
  readonly botUser: StandInUser;
  readonly guildId = snowflake();
  readonly channelId = snowflake();
  readonly interactions = new Map<string, InteractionRecord>();
  readonly messages = new Map<string, StoredMessage>();
  readonly requests: RequestRecord[] = [];
  readonly unknownRequests: RequestRecord[] = [];
  /** Application commands registered with PUT, keyed by scope ('global' or a guild id). */
  readonly registeredCommands = new Map<string, any[]>();
  /** Identify payloads received (one per shard connection). */
  readonly identifies: any[] = [];
  /** Ids of attachments whose bytes were downloaded from the CDN route, in order. */
  readonly downloads: string[] = [];
  /** Whether the bot has Manage Messages in the test guild (needed to remove others' reactions). */
  manageMessages = true;
  /** DM channel id per member id (created on first use). */
  readonly dmChannels = new Map<string, string>();
  private readonly files = new Map<string, StoredFile>();
  private readonly sessions = new Set<Session>();
  private readonly recommendedShards: number;
  private server: http.Server | undefined;
  private wss: WebSocketServer | undefined;
  private port = 0;

  constructor(options: StandInOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.token = options.token ?? 'stand-in-token.' + snowflake();
    this.recommendedShards = options.recommendedShards ?? 1;
    this.botUser = { id: this.applicationId, username: 'WebtoonFaces', global_name: null, discriminator: '0', avatar: null, bot: true };
  }

  /** http://127.0.0.1:PORT */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The value for DISCORD_API_URL. */
  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  /** Number of gateway sessions that are identified and ready. */
  get readySessions(): number {
    return this.sessions.size;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      void this.handleHttp(req, res).catch((err: unknown) => {
        res.writeHead(500, JSON_HEADERS).end(JSON.stringify({ message: String(err), code: 0 }));
      });
    });
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/gateway')) {
        socket.destroy();
        return;
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.onGatewayConnection(ws));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.ws.terminate();
    this.sessions.clear();
    this.wss?.close();
    if (this.server) {
      this.server.closeAllConnections();
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    }
  }

  // ---------------------------------------------------------------- members, files, messages

  /** A guild member the tests act as. */
  makeUser(username: string): StandInUser {
    return { id: snowflake(), username, global_name: username, discriminator: '0', avatar: null };
  }

  /** Host bytes as a CDN attachment; returns the attachment object as Discord resolves it. */
  addAttachment(bytes: Buffer, filename: string, contentType: string, dims?: { width: number; height: number }, declaredSize?: number): any {
    const id = snowflake();
    this.files.set(id, { id, filename, contentType, bytes });
    const url = `${this.baseUrl}/attachments/${this.channelId}/${id}/${encodeURIComponent(filename)}`;
    return {
      id,
      filename,
      size: declaredSize ?? bytes.length,
      url,
      proxy_url: url,
      content_type: contentType,
      ...(dims ? { width: dims.width, height: dims.height } : {}),
    };
  }

  /** A message posted by a member (for the message context-menu command), with attachments. */
  addMemberMessage(author: StandInUser, attachments: any[], content = ''): StoredMessage {
    const msg = this.newMessage(author, { content }, [], null, null);
    (msg as StoredMessage & { rawAttachments?: any[] }).rawAttachments = attachments;
    return msg;
  }

  /** The message's API representation, as Discord would send it. */
  toApiMessage(msg: StoredMessage): any {
    const raw = (msg as StoredMessage & { rawAttachments?: any[] }).rawAttachments;
    const attachments =
      raw ??
      msg.files.map((f) => ({
        id: f.id,
        filename: f.filename,
        size: f.bytes.length,
        url: `${this.baseUrl}/attachments/${msg.channel_id}/${f.id}/${encodeURIComponent(f.filename)}`,
        proxy_url: `${this.baseUrl}/attachments/${msg.channel_id}/${f.id}/${encodeURIComponent(f.filename)}`,
        content_type: f.contentType,
      }));
    const reactions = [...msg.reactions.entries()]
      .filter(([, users]) => users.size > 0)
      .map(([name, users]) => ({ emoji: { id: null, name }, count: users.size, me: users.has(this.botUser.id), burst_colors: [], count_details: { burst: 0, normal: users.size }, me_burst: false }));
    return {
      id: msg.id,
      channel_id: msg.channel_id,
      ...(msg.guild_id ? { guild_id: msg.guild_id } : {}),
      author: msg.author,
      content: msg.content,
      timestamp: new Date().toISOString(),
      edited_timestamp: msg.edits > 0 ? new Date().toISOString() : null,
      tts: false,
      mention_everyone: false,
      mentions: [],
      mention_roles: [],
      attachments,
      embeds: msg.embeds,
      components: msg.components,
      reactions,
      pinned: false,
      type: msg.interaction_id ? 20 : 0,
      flags: msg.flags,
      ...(msg.webhook_id ? { webhook_id: msg.webhook_id, application_id: this.applicationId } : {}),
    };
  }

  /** The original response of an interaction, as a member sees it now. */
  original(interactionId: string): StoredMessage | undefined {
    const rec = this.interactions.get(interactionId);
    return rec?.originalMessageId ? this.messages.get(rec.originalMessageId) : undefined;
  }

  /** Follow-up messages of an interaction. */
  followUps(interactionId: string): StoredMessage[] {
    const rec = this.interactions.get(interactionId);
    return (rec?.followUpIds ?? []).map((id) => this.messages.get(id)!).filter(Boolean);
  }

  // ---------------------------------------------------------------- dispatching interactions

  /** The member's DM channel id (the same one every time). */
  dmChannelOf(user: StandInUser): string {
    let id = this.dmChannels.get(user.id);
    if (!id) {
      id = snowflake();
      this.dmChannels.set(user.id, id);
    }
    return id;
  }

  private baseInteraction(type: number, user: StandInUser, data: any, extra: any = {}, place: InteractionPlace = 'guild'): InteractionRecord {
    if (place !== 'guild') return this.userInstallInteraction(type, user, data, extra, place);
    const id = snowflake();
    const token = `itoken-${id}-${Math.random().toString(36).slice(2)}`;
    const payload = {
      id,
      application_id: this.applicationId,
      type,
      token,
      version: 1,
      guild_id: this.guildId,
      guild: { id: this.guildId, locale: 'en-US', features: [] },
      channel_id: this.channelId,
      channel: { id: this.channelId, type: 0, guild_id: this.guildId, name: 'general', permissions: '2248473465835073' },
      member: {
        user,
        roles: [],
        joined_at: new Date(0).toISOString(),
        deaf: false,
        mute: false,
        flags: 0,
        permissions: '2248473465835073',
      },
      app_permissions: '2248473465835073',
      locale: 'en-US',
      guild_locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '0': this.guildId },
      context: 0,
      attachment_size_limit: 10485760,
      data,
      ...extra,
    };
    const rec: InteractionRecord = {
      id,
      token,
      type,
      payload,
      createdAt: Date.now(),
      callbacks: [],
      originalMessageId: null,
      followUpIds: [],
      modal: null,
      channelId: this.channelId,
      guildId: this.guildId,
    };
    this.interactions.set(id, rec);
    this.dispatch('INTERACTION_CREATE', payload);
    return rec;
  }

  /**
   * An interaction of a user-installed command, as Discord sends it: `user` instead of `member`, the
   * member's install as the authorising owner ('1'), and no guild in a DM. In `guild-user-install`
   * the guild did not add the bot, so the gateway has no guild for it.
   */
  private userInstallInteraction(type: number, user: StandInUser, data: any, extra: any, place: InteractionPlace): InteractionRecord {
    const id = snowflake();
    const token = `itoken-${id}-${Math.random().toString(36).slice(2)}`;
    const inGuild = place === 'guild-user-install';
    const guildId = inGuild ? snowflake() : null;
    const channelId = inGuild ? snowflake() : place === 'bot-dm' ? this.dmChannelOf(user) : snowflake();
    const channel = inGuild
      ? { id: channelId, type: 0, guild_id: guildId, name: 'elsewhere', permissions: '2248473465835073' }
      : place === 'bot-dm'
        ? { id: channelId, type: 1, recipients: [user], last_message_id: null, flags: 0 }
        : { id: channelId, type: 3, recipients: [user, this.makeUser('friend')], name: null, owner_id: user.id, icon: null, flags: 0 };
    const d = { ...data };
    delete d.guild_id;
    const payload: any = {
      id,
      application_id: this.applicationId,
      type,
      token,
      version: 1,
      channel_id: channelId,
      channel,
      app_permissions: inGuild ? '0' : '2248473465835073',
      locale: 'en-US',
      entitlements: [],
      authorizing_integration_owners: { '1': user.id },
      context: inGuild ? 0 : place === 'bot-dm' ? 1 : 2,
      attachment_size_limit: 10485760,
      data: d,
      ...extra,
    };
    if (inGuild) {
      payload.guild_id = guildId;
      payload.guild = { id: guildId, locale: 'en-US', features: [] };
      payload.guild_locale = 'en-US';
      payload.member = { user, roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0, permissions: '2248473465835073' };
    } else payload.user = user;
    const rec: InteractionRecord = {
      id,
      token,
      type,
      payload,
      createdAt: Date.now(),
      callbacks: [],
      originalMessageId: null,
      followUpIds: [],
      modal: null,
      channelId,
      guildId,
    };
    this.interactions.set(id, rec);
    this.dispatchToShard(0, 'INTERACTION_CREATE', payload);
    return rec;
  }

  /**
   * A member runs a slash command. `options` are name → value; an attachment object (from
   * {@link addAttachment}) as a value becomes an attachment option with its resolved data.
   */
  sendSlashCommand(
    user: StandInUser,
    name: string,
    options: Record<string, string | number | boolean | { id: string; filename: string }> = {},
    place: InteractionPlace = 'guild',
  ): InteractionRecord {
    const resolvedAttachments: Record<string, any> = {};
    const opts = Object.entries(options).map(([optName, value]) => {
      if (typeof value === 'object') {
        resolvedAttachments[value.id] = value;
        return { name: optName, type: 11, value: value.id };
      }
      if (typeof value === 'boolean') return { name: optName, type: 5, value };
      if (typeof value === 'number') return { name: optName, type: 4, value };
      return { name: optName, type: 3, value };
    });
    const data: any = { id: snowflake(), name, type: 1, options: opts, guild_id: this.guildId };
    if (Object.keys(resolvedAttachments).length) data.resolved = { attachments: resolvedAttachments };
    return this.baseInteraction(2, user, data, {}, place);
  }

  /** A member uses a message context-menu command on `message`. */
  sendMessageCommand(user: StandInUser, name: string, message: StoredMessage): InteractionRecord {
    const api = this.toApiMessage(message);
    const data = { id: snowflake(), name, type: 3, target_id: message.id, guild_id: this.guildId, resolved: { messages: { [message.id]: api } } };
    return this.baseInteraction(2, user, data);
  }

  /** A member clicks a button on `message`. */
  clickButton(user: StandInUser, message: StoredMessage, customId: string, place: InteractionPlace = 'guild'): InteractionRecord {
    return this.baseInteraction(3, user, { custom_id: customId, component_type: 2 }, { message: this.toApiMessage(message) }, place);
  }

  /** A member picks `values` in the string select `customId` on `message`. */
  selectMenu(user: StandInUser, message: StoredMessage, customId: string, values: string[]): InteractionRecord {
    return this.baseInteraction(3, user, { custom_id: customId, component_type: 3, values }, { message: this.toApiMessage(message) });
  }

  /**
   * A member submits the modal the bot opened for `opener`, filling text inputs by custom id.
   * The submitted components mirror the modal's layout (action rows or labels).
   */
  submitModal(user: StandInUser, opener: InteractionRecord, values: Record<string, string>): InteractionRecord {
    const modal = opener.modal;
    if (!modal) throw new Error(`interaction ${opener.id} opened no modal`);
    const fill = (c: any): any => {
      if (c.type === 4) return { type: 4, id: c.id, custom_id: c.custom_id, value: values[c.custom_id] ?? '' };
      if (c.type === 3) return { type: 3, id: c.id, custom_id: c.custom_id, values: [] };
      return { type: c.type, id: c.id };
    };
    const components = (modal.components ?? []).map((c: any) => {
      if (c.type === 1) return { type: 1, id: c.id, components: (c.components ?? []).map(fill) };
      if (c.type === 18) return { type: 18, id: c.id, component: fill(c.component) };
      return { type: c.type, id: c.id };
    });
    const extra: any = {};
    const openerMessage = opener.payload.message;
    if (openerMessage) extra.message = openerMessage;
    return this.baseInteraction(5, user, { custom_id: modal.custom_id, components }, extra);
  }

  /** A member adds (or removes) a reaction to a message; dispatches MESSAGE_REACTION_ADD/REMOVE. */
  react(user: StandInUser, messageId: string, emoji: string, remove = false): void {
    const msg = this.messages.get(messageId);
    if (msg) {
      const users = msg.reactions.get(emoji) ?? new Set<string>();
      if (remove) users.delete(user.id);
      else users.add(user.id);
      msg.reactions.set(emoji, users);
    }
    const d: any = {
      user_id: user.id,
      channel_id: msg?.channel_id ?? this.channelId,
      message_id: messageId,
      ...(msg && msg.guild_id === null ? {} : { guild_id: msg?.guild_id ?? this.guildId }),
      emoji: { id: null, name: emoji },
      burst: false,
      type: 0,
    };
    if (!remove) {
      if (d.guild_id) d.member = { user, roles: [], joined_at: new Date(0).toISOString(), deaf: false, mute: false, flags: 0 };
      d.message_author_id = msg?.author.id;
    }
    const t = remove ? 'MESSAGE_REACTION_REMOVE' : 'MESSAGE_REACTION_ADD';
    if (msg && msg.guild_id === null) {
      if (this.botIsIn(msg)) this.dispatchToShard(0, t, d); // the bot's DM; other DMs are not the bot's to see
    } else if (!msg || msg.guild_id === this.guildId) this.dispatch(t, d); // a server without the bot sends it nothing

  }

  /** Send a dispatch to the gateway session of the shard that owns the test guild. */
  dispatch(t: string, d: any): void {
    for (const s of this.sessions) {
      const [shardId, count] = s.shard;
      if (Number((BigInt(this.guildId) >> 22n) % BigInt(count)) !== shardId) continue;
      s.seq += 1;
      s.ws.send(JSON.stringify({ op: 0, t, s: s.seq, d }));
    }
  }

  /** Send a dispatch to shard `shardId` (DMs and user-install interactions go to shard 0). */
  dispatchToShard(shardId: number, t: string, d: any): void {
    for (const s of this.sessions) {
      if (s.shard[0] !== shardId) continue;
      s.seq += 1;
      s.ws.send(JSON.stringify({ op: 0, t, s: s.seq, d }));
    }
  }

  /** Resolve when `predicate()` holds (polled), or reject after `timeoutMs` with `what` in the message. */
  async waitFor<T>(predicate: () => T | undefined | null | false, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const v = predicate();
      if (v) return v;
      if (Date.now() > deadline) throw new Error(`stand-in: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Wait until the bot answered the interaction with a callback. */
  waitForCallback(rec: InteractionRecord, timeoutMs?: number): Promise<CallbackRecord> {
    return this.waitFor(() => rec.callbacks[0], `a callback for interaction ${rec.id}`, timeoutMs);
  }

  // ---------------------------------------------------------------- gateway

  private onGatewayConnection(ws: WebSocket): void {
    let session: Session | undefined;
    ws.send(JSON.stringify({ op: 10, d: { heartbeat_interval: 41250 } }));
    ws.on('message', (raw) => {
      let msg: any;
      try {
        msg = JSON.parse(String(raw));
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      switch (msg.op) {
        case 1:
          ws.send(JSON.stringify({ op: 11 }));
          break;
        case 2: {
          const d = msg.d ?? {};
          if (d.token !== this.token && d.token !== `Bot ${this.token}`) {
            ws.close(4004, 'Authentication failed.');
            return;
          }
          this.identifies.push(d);
          session = { ws, shard: d.shard ?? [0, 1], seq: 0, sessionId: snowflake() };
          this.sessions.add(session);
          const inShard = Number((BigInt(this.guildId) >> 22n) % BigInt(session.shard[1])) === session.shard[0];
          session.seq += 1;
          ws.send(
            JSON.stringify({
              op: 0,
              t: 'READY',
              s: session.seq,
              d: {
                v: 10,
                user: this.botUser,
                guilds: inShard ? [{ id: this.guildId, unavailable: true }] : [],
                session_id: session.sessionId,
                resume_gateway_url: this.gatewayUrl,
                shard: session.shard,
                application: { id: this.applicationId, flags: 0 },
                private_channels: [],
                relationships: [],
                presences: [],
                guild_join_requests: [],
                geo_ordered_rtc_regions: [],
                user_settings: {},
              },
            }),
          );
          if (inShard) {
            session.seq += 1;
            ws.send(JSON.stringify({ op: 0, t: 'GUILD_CREATE', s: session.seq, d: this.guildPayload() }));
          }
          this.emit('ready', session.shard);
          break;
        }
        case 6:
          ws.close(4009, 'Session timed out');
          break;
        default:
          break;
      }
    });
    ws.on('close', () => {
      if (session) this.sessions.delete(session);
    });
  }

  private guildPayload(): any {
    return {
      id: this.guildId,
      name: 'Stand-in Guild',
      icon: null,
      owner_id: snowflake(),
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 0,
      explicit_content_filter: 0,
      roles: [{ id: this.guildId, name: '@everyone', permissions: '2248473465835073', position: 0, color: 0, hoist: false, managed: false, mentionable: false, flags: 0 }],
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      system_channel_flags: 0,
      premium_tier: 0,
      preferred_locale: 'en-US',
      nsfw_level: 0,
      joined_at: new Date().toISOString(),
      large: false,
      unavailable: false,
      member_count: 3,
      members: [],
      channels: [{ id: this.channelId, type: 0, name: 'general', position: 0, permission_overwrites: [], guild_id: this.guildId }],
      threads: [],
      voice_states: [],
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  // ---------------------------------------------------------------- REST

  private async readBody(req: http.IncomingMessage): Promise<{ json: any; files: StoredFile[] }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const ct = req.headers['content-type'] ?? '';
    if (!body.length) return { json: null, files: [] };
    if (ct.startsWith('multipart/form-data')) {
      const form = await new Response(body, { headers: { 'content-type': ct } }).formData();
      let json: any = null;
      const files: StoredFile[] = [];
      for (const [key, value] of form.entries()) {
        if (key === 'payload_json') json = JSON.parse(String(value));
        else if (typeof value !== 'string') {
          const blob = value as File;
          files.push({ id: snowflake(), filename: blob.name, contentType: blob.type || 'application/octet-stream', bytes: Buffer.from(await blob.arrayBuffer()) });
        }
      }
      return { json, files };
    }
    return { json: JSON.parse(body.toString('utf8')), files: [] };
  }

  private async handleHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const method = req.method ?? 'GET';
    const p = url.pathname;

    // CDN
    const cdn = /^\/attachments\/\d+\/(\d+)\/[^/]+$/.exec(p);
    if (cdn && method === 'GET') {
      const file = this.files.get(cdn[1]);
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      this.downloads.push(file.id);
      res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.length) });
      res.end(file.bytes);
      return;
    }

    const { json, files } = method === 'GET' || method === 'HEAD' ? { json: null, files: [] } : await this.readBody(req);
    const record: RequestRecord = { method, path: p + url.search, at: Date.now(), status: 0, json };
    this.requests.push(record);
    const send = (status: number, payload?: unknown) => {
      record.status = status;
      if (payload === undefined) res.writeHead(status).end();
      else res.writeHead(status, JSON_HEADERS).end(JSON.stringify(payload));
    };
    const notFound = () => {
      this.unknownRequests.push(record);
      send(404, { message: `Unknown route ${method} ${p}`, code: 0 });
    };
    const m = /^\/api\/v\d+(\/.*)$/.exec(p);
    if (!m) return notFound();
    const route = m[1].replace(/%40/gi, '@');
    const authorized = req.headers.authorization === `Bot ${this.token}`;
    const needsAuth = !route.startsWith('/interactions/') && !/^\/webhooks\/\d+\/[^/]+/.test(route);
    if (needsAuth && !authorized) return send(401, { message: '401: Unauthorized', code: 0 });

    let r: RegExpExecArray | null;
    if (method === 'GET' && route === '/gateway/bot') {
      return send(200, {
        url: `ws://127.0.0.1:${this.port}/gateway`,
        shards: this.recommendedShards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && route === '/gateway') return send(200, { url: `ws://127.0.0.1:${this.port}/gateway` });
    if (method === 'GET' && route === '/users/@me') return send(200, this.botUser);
    if (method === 'GET' && route === '/applications/@me') {
      return send(200, { id: this.applicationId, name: 'WebtoonFaces', icon: null, description: '', bot_public: true, bot_require_code_grant: false, verify_key: 'x', flags: 0, bot: this.botUser });
    }
    if ((r = /^\/applications\/(\d+)(?:\/guilds\/(\d+))?\/commands$/.exec(route))) {
      const scope = r[2] ?? 'global';
      if (method === 'PUT') {
        const cmds = (json as any[]).map((c) => ({ ...c, id: snowflake(), application_id: r![1], version: snowflake(), ...(r![2] ? { guild_id: r![2] } : {}) }));
        this.registeredCommands.set(scope, cmds);
        return send(200, cmds);
      }
      if (method === 'GET') return send(200, this.registeredCommands.get(scope) ?? []);
    }
    if ((r = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(route)) && method === 'POST') {
      const rec = this.interactions.get(r[1]);
      if (!rec || rec.token !== r[2]) return send(404, { message: 'Unknown interaction', code: 10062 });
      if (rec.callbacks.length > 0) return send(400, { message: 'Interaction has already been acknowledged.', code: 40060 });
      const cb: CallbackRecord = { type: json?.type, data: json?.data ?? {}, files, at: Date.now() };
      rec.callbacks.push(cb);
      let message: StoredMessage | undefined;
      switch (cb.type) {
        case 4:
        case 5:
          message = this.newMessage(this.botUser, cb.data, files, rec.id, this.applicationId, rec);
          if (cb.type === 5) message.flags |= 128; // LOADING
          rec.originalMessageId = message.id;
          break;
        case 6:
        case 7: {
          const target = rec.payload.message ? this.messages.get(rec.payload.message.id) : undefined;
          if (target && cb.type === 7) this.applyEdit(target, cb.data, files);
          rec.originalMessageId = target?.id ?? null;
          message = target;
          break;
        }
        case 9:
          rec.modal = cb.data;
          break;
        default:
          return send(400, { message: `Unsupported callback type ${cb.type}`, code: 50035 });
      }
      this.emit('callback', rec, cb);
      if (url.searchParams.get('with_response') === 'true') {
        return send(200, {
          interaction: { id: rec.id, type: rec.type, activity_instance_id: null, response_message_id: message?.id ?? null, response_message_loading: cb.type === 5, response_message_ephemeral: ((message?.flags ?? 0) & 64) !== 0 },
          resource: { type: cb.type, ...(message ? { message: this.toApiMessage(message) } : {}) },
        });
      }
      return send(204);
    }
    if ((r = /^\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(@original|\d+))?$/.exec(route))) {
      const rec = [...this.interactions.values()].find((i) => i.token === r![2]);
      if (!rec || r[1] !== this.applicationId) return send(404, { message: 'Unknown Webhook', code: 10015 });
      const which = r[3];
      if (!which && method === 'POST') {
        const msg = this.newMessage(this.botUser, json ?? {}, files, rec.id, this.applicationId, rec);
        rec.followUpIds.push(msg.id);
        this.emit('message', msg);
        return url.searchParams.get('wait') === 'false' ? send(204) : send(200, this.toApiMessage(msg));
      }
      const msgId = which === '@original' ? rec.originalMessageId : which;
      const msg = msgId ? this.messages.get(msgId) : undefined;
      if (!msg || msg.deleted) return send(404, { message: 'Unknown Message', code: 10008 });
      if (method === 'GET') return send(200, this.toApiMessage(msg));
      if (method === 'PATCH') {
        this.applyEdit(msg, json ?? {}, files);
        this.emit('edit', rec, msg);
        return send(200, this.toApiMessage(msg));
      }
      if (method === 'DELETE') {
        msg.deleted = true;
        return send(204);
      }
    }
    if ((r = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/@me$/.exec(route))) {
      const msg = this.messages.get(r[2]);
      if (!msg) return send(404, { message: 'Unknown Message', code: 10008 });
      const emoji = decodeURIComponent(r[3]);
      if (method === 'PUT') {
        if ((msg.flags & 64) !== 0) return send(400, { message: 'Cannot react to an ephemeral message', code: 50083 });
        if (!this.botIsIn(msg)) return send(403, { message: 'Missing Access', code: 50001 });
        this.react(this.botUser, msg.id, emoji);
        return send(204);
      }
      if (method === 'DELETE') {
        this.react(this.botUser, msg.id, emoji, true);
        return send(204);
      }
    }
    if ((r = /^\/channels\/(\d+)\/messages\/(\d+)\/reactions\/([^/]+)\/(\d+)$/.exec(route)) && method === 'DELETE') {
      const msg = this.messages.get(r[2]);
      if (!msg) return send(404, { message: 'Unknown Message', code: 10008 });
      // removing someone else's reaction needs Manage Messages, which a bot never has in a DM
      if (!this.botIsIn(msg) || msg.guild_id !== this.guildId || !this.manageMessages) return send(403, { message: 'Missing Permissions', code: 50013 });
      const who = { id: r[4] } as StandInUser;
      this.react(who, msg.id, decodeURIComponent(r[3]), true);
      return send(204);
    }
    if ((r = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(route)) && method === 'GET') {
      const msg = this.messages.get(r[2]);
      if (!msg || msg.deleted || (msg.flags & 64) !== 0) return send(404, { message: 'Unknown Message', code: 10008 });
      return send(200, this.toApiMessage(msg));
    }
    if ((r = /^\/channels\/(\d+)$/.exec(route)) && method === 'GET') {
      if (r[1] !== this.channelId) return send(404, { message: 'Unknown Channel', code: 10003 });
      return send(200, { id: this.channelId, type: 0, name: 'general', guild_id: this.guildId, position: 0, permission_overwrites: [] });
    }
    return notFound();
  }

  /** Whether the bot is a member where `msg` is: the test guild, or a member's DM with the bot. */
  private botIsIn(msg: StoredMessage): boolean {
    return msg.guild_id === this.guildId || [...this.dmChannels.values()].includes(msg.channel_id);
  }

  private newMessage(author: StandInUser, data: any, files: StoredFile[], interactionId: string | null, webhookId: string | null, where?: InteractionRecord): StoredMessage {
    const msg: StoredMessage = {
      id: snowflake(),
      channel_id: where?.channelId ?? this.channelId,
      guild_id: where ? where.guildId : this.guildId,
      author,
      content: data.content ?? '',
      embeds: data.embeds ?? [],
      components: data.components ?? [],
      files: [],
      flags: data.flags ?? 0,
      reactions: new Map(),
      webhook_id: webhookId,
      interaction_id: interactionId,
      edits: 0,
      contentHistory: [data.content ?? ''],
      deleted: false,
    };
    this.attachFiles(msg, data, files);
    this.messages.set(msg.id, msg);
    return msg;
  }

  private attachFiles(msg: StoredMessage, data: any, files: StoredFile[]): void {
    if (files.length) {
      for (const f of files) this.files.set(f.id, f);
      msg.files = files;
    } else if (Array.isArray(data.attachments)) {
      // `attachments: []` (or a list of kept ids) without new files
      const keep = new Set(data.attachments.map((a: any) => String(a.id)));
      msg.files = msg.files.filter((f) => keep.has(f.id));
    }
  }

  private applyEdit(msg: StoredMessage, data: any, files: StoredFile[]): void {
    if ('content' in data) msg.content = data.content ?? '';
    if ('embeds' in data) msg.embeds = data.embeds ?? [];
    if ('components' in data) msg.components = data.components ?? [];
    if ('flags' in data && data.flags != null) msg.flags = (msg.flags & 64) | data.flags;
    msg.flags &= ~128; // an edit ends the "thinking…" state
    this.attachFiles(msg, data, files);
    msg.edits += 1;
    msg.contentHistory.push(msg.content);
  }
}
