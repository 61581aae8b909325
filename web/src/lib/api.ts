// Typed calls to the Kolokol REST API (docs/API.md). The session token lives in localStorage
// and goes only into the Authorization header, never into a URL.

/** `username` is null for others who keep it private; `show_username` and `instance_admin` (one of the server's
 * `--admin` usernames: may create organisations) come only on /me; `is_bot` marks a bot (absent for people). */
export interface User {
  id: number; username: string | null; display_name: string; about: string; show_username?: boolean; is_bot?: boolean;
  instance_admin?: boolean;
}
export type ChatKind = 'direct' | 'group' | 'channel';
export type Role = 'owner' | 'admin' | 'member';
export interface Reaction { emoji: string; user_ids: number[] }
/** A poll a message carries (its text is the question). Fixed once sent. */
export interface Poll { options: string[]; multiple: boolean; anonymous: boolean; closes_at: number | null }
/** A poll's votes as every member sees them; `voter_ids` (who chose each option) is null for anonymous polls. */
export interface PollTally { counts: number[]; voters: number; voter_ids: number[][] | null }
/** A poll's results for the caller: `mine` are the option indexes the caller chose. */
export interface PollResults { seq: number; tally: PollTally; mine: number[]; closed: boolean }
/** A thread under message `root`: how many replies (deleted ones not counted), and the latest. */
export interface ThreadSummary { root: number; replies: number; last_seq: number; last_at: number }
export interface Message {
  id: number; chat_id: number; seq: number; sender_id: number; client_msg_id: string; text: string;
  reply_to: number | null; mentions: number[]; reactions: Reaction[]; created_at: number;
  edited_at: number | null; deleted: boolean;
  poll?: Poll | null;
  /** The seq of the message whose thread this reply is in. */
  thread_of?: number | null;
  /** A bot's buttons under the message, row by row; absent when it has none. */
  keyboard?: Button[][];
  /** A bot's formatting, parsed by the server from its markdown or HTML; absent when none. */
  markup?: Markup[];
  /** Files the message shows (its text may then be empty); absent when none. Bytes come through `api.mediaLinks`. */
  attachments?: Attachment[];
  /** In an encrypted chat: the MLS message it is (base64; null once deleted). Its text is empty. */
  mls?: { kind: 'application' | 'commit'; epoch: number; data: string | null };
}
/** Whether the server can read a chat: fixed when it is made. */
export type ChatPrivacy = 'community' | 'encrypted';
/** An encrypted chat's MLS group as the server sees it (bytes in base64). */
export interface MlsGroupState {
  group_id: string; generation: number; epoch: number;
  leaves: { leaf: number; user_id: number; device_id: number; signature_key: string }[];
  pending_add: { user_id: number; device_id: number }[];
  pending_remove: number[];
}
export interface KeyPackageStatus { available: number; last_resort: boolean; low: boolean }
export interface Welcome { id: number; chat_id: number; epoch: number; commit_seq: number; welcome: string }
/** A file's kind, decided by the server from its bytes. */
export type AttachmentKind = 'image' | 'video' | 'audio' | 'voice' | 'file';
/** A file on a message, as it was when attached. `size` in bytes; `waveform` (voice) is up to
 * 100 loudness values 0–255; `thumb` says whether there is a thumbnail (images). */
export interface Attachment {
  id: number; kind: AttachmentKind; mime: string; size: number; name?: string; width?: number; height?: number;
  duration_ms?: number; waveform?: number[]; thumb: boolean;
}
/** Begins an upload into a chat: `size` in bytes; a voice message's `duration_ms` (measured by the
 * client) and `waveform` (up to 100 loudness values 0–255). */
export interface UploadRequest { kind: AttachmentKind; size: number; name?: string; duration_ms?: number; waveform?: number[] }
/** Where an upload stands: `received` bytes from the start without a gap; send the rest from there. */
export interface UploadState { id: number; size: number; received: number; expires_at: number }
/** A signed link to a file (and its thumbnail): relative, works without a token until `expires_at` (ms, the server's clock). */
export interface MediaLink { id: number; url: string; thumb_url?: string; expires_at: number }
export type MarkupType = 'strong' | 'emphasized' | 'monospaced' | 'link' | 'strikethrough' | 'underline' | 'user_mention' | 'heading' | 'highlighted';
/** A span of `text`: `from` and `length` count UTF-16 code units (JavaScript string indices). */
export interface Markup { type: MarkupType; from: number; length: number; url?: string; user_id?: number }
export interface Chat {
  id: number; kind: ChatKind; title: string | null; peer: User | null; role: Role; member_count: number;
  last_seq: number; read_seq: number; unread_count: number; last_message: Message | null;
  created_at: number; last_activity_at: number;
  posting: Posting; slow_mode_secs: number; safeguarding?: Safeguarding | null;
  /** Until when an admin muted me here (ms; it may have passed). */
  muted_until?: number | null;
  privacy?: ChatPrivacy;
}
export interface ChatInfo { id: number; kind: ChatKind; title: string | null; member_count: number }
export type StaffRole = 'class_teacher' | 'teacher';
/** School staff by the roster (set only by the school's admins: a name can be faked, this cannot). */
export interface StaffBadge { org_id: number; org: string; places: { unit: string; role: StaffRole | string; detail: string }[] }
export interface Member { user: User; role: Role; joined_at: number; staff?: StaffBadge | null }
export interface Session { id: number; device_name: string; created_on: string; last_seen_on: string; current: boolean }
export interface Invite { code: string; chat_id: number; created_by: number; created_at: number; expires_at: number | null; max_uses: number | null; uses: number }

export interface QuietHours { start: string; end: string; weekends: boolean }
/** A policy update replaces the whole policy (an absent field goes back to its default), so every update sends both. */
/** An org's rules. `media_quota_mb`: room for files sent in its chats, in MiB (≥ 1; absent or null: the server's
 * default); `media_retention_days`: those files are taken out so many days after they were sent (1–3650; the
 * messages stay; absent or null: kept while their messages are). */
export interface OrgPolicy {
  quiet_hours: QuietHours | null; student_contacts: StudentContacts;
  media_quota_mb?: number | null; media_retention_days?: number | null;
}
export interface OrgInfo { id: number; name: string; time_zone: string; roles: string[]; policy?: OrgPolicy }
export type HoldReason = 'quiet_hours' | 'do_not_disturb';
/** A message kept back by quiet hours or do-not-disturb: it goes out by itself at `release_at`. */
export interface HeldMessage {
  id: number; chat_id: number; sender_id: number; client_msg_id: string; text: string; reply_to: number | null;
  request_ack: boolean; poll?: Poll | null; thread_of?: number | null; release_at: number; reason: HoldReason; created_at: number;
}
/** What a send got: the message, or (202) the message held until quiet hours or do-not-disturb end. */
export type SendOutcome = { held: false; message: Message } | { held: true; message: HeldMessage };
export type RosterRole = 'student' | 'guardian' | 'class_teacher' | 'teacher';
export interface RosterEntry { person_id: number; name: string; role: RosterRole; detail: string; claimed: boolean }
export interface OrgChatView { purpose: string; chat_id: number }
export interface FamilyView { student_person_id: number; student: string; guardians: { name: string; claimed: boolean }[]; reached: boolean }
export interface UnitView { id: number; name: string; archived: boolean; people: RosterEntry[]; families: FamilyView[]; chats: OrgChatView[] }
export interface RosterView { units: UnitView[]; chats: OrgChatView[] }
export interface RosterReport {
  dry_run: boolean; units_added: string[]; units_archived: string[]; people_added: string[];
  people_archived: string[]; people_changed: string[]; chats_created: number; members_added: number; members_removed: number;
}
export interface ClaimCodeEntry { person_id: number; name: string; places: { unit: string; role: RosterRole; detail: string }[]; code: string }
export interface ClaimCodeList { expires_at: number; codes: ClaimCodeEntry[] }
/** Why a roster line was refused: `problem` names it (the args it needs come beside it, e.g. `limit`,
 * `role`, `name`, `class`, `other_line`, `child`); `message` says it in English, for the CLI. */
export interface LineError {
  line: number; message: string; problem?: RosterProblem | string;
  limit?: number; role?: string; name?: string; class?: string; other_line?: number; child?: string;
}
export type RosterProblem =
  | 'header' | 'not_utf8' | 'unreadable' | 'bad_csv' | 'too_many_rows' | 'unknown_role' | 'class_empty' | 'class_too_long'
  | 'name_empty' | 'name_too_long' | 'guardian_without_child' | 'only_guardians_have_child' | 'only_teachers_have_subjects'
  | 'student_in_two_classes' | 'student_and_adult' | 'ambiguous_child' | 'child_not_found';
export interface FamilyRead {
  unit: string; student: string; guardians: { name: string; joined: boolean; read: boolean; acked: boolean }[]; read: boolean; acked: boolean;
}
export interface MessageReach {
  seq: number; members: number; read: number; ack_requested: boolean; acked: number; families: FamilyRead[];
  /** When the non-readers were last reminded (ms), if ever. */
  reminded_at?: number | null;
}

export type ServerEvent =
  | { type: 'ready' } | { type: 'resync' }
  | { type: 'message.new' | 'message.edited'; message: Message }
  | { type: 'message.deleted'; chat_id: number; seq: number }
  | { type: 'reaction'; chat_id: number; seq: number; user_id: number; emoji: string; added: boolean }
  | { type: 'read'; chat_id: number; user_id: number; seq: number }
  | { type: 'typing'; chat_id: number; user_id: number }
  | { type: 'chat.created'; chat: ChatInfo; created_by: number }
  | { type: 'chat.updated'; chat: ChatInfo }
  | { type: 'member.added'; chat_id: number; user: User; role: Role }
  | { type: 'member.updated'; chat_id: number; user_id: number; role: Role }
  | { type: 'member.removed'; chat_id: number; user_id: number }
  | { type: 'member.muted'; chat_id: number; user_id: number; until: number | null }
  | { type: 'reminder'; chat_id: number; seq: number }
  | { type: 'poll.voted'; chat_id: number; seq: number; tally: PollTally }
  | { type: 'pinned'; chat_id: number; seq: number | null; by: number }
  | { type: 'callback.answered'; chat_id: number; seq: number; notification: string | null }
  | { type: 'session.revoked'; session_id: number }
  | { type: 'mls.changed'; chat_id: number }
  | { type: 'mls.welcome'; chat_id: number; welcome_id: number; epoch: number }
  | { type: 'mls.key_packages_low'; device_id: number; available: number };
export type ServerFrame = ServerEvent & { cursor?: string };

export class ApiError extends Error {
  /** For a refused file: each problem by line. */
  public lines: LineError[];
  constructor(public status: number, public code: string, message: string, lines: LineError[] = []) {
    super(message);
    this.lines = lines;
  }
}

const TOKEN_KEY = 'kolokol.token';

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

/** A request body that is not JSON: a file with its content type. */
interface RawBody { contentType: string; bytes: ArrayBuffer }

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  return (await callWithStatus<T>(method, path, body)).data;
}

async function callWithStatus<T>(method: string, path: string, body?: unknown): Promise<{ status: number; data: T; headers: Headers }> {
  const headers: Record<string, string> = {};
  const current = token();
  if (current) headers.Authorization = `Bearer ${current}`;
  let payload: BodyInit | undefined;
  if (body instanceof Object && 'bytes' in body && body.bytes instanceof ArrayBuffer) {
    const raw = body as RawBody;
    headers['Content-Type'] = raw.contentType;
    payload = raw.bytes;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, { method, headers, body: payload });
  if (response.status === 204) return { status: 204, data: undefined as T, headers: response.headers };
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new ApiError(response.status, data.code ?? 'internal', data.message ?? response.statusText, data.errors ?? []);
  }
  return { status: response.status, data: data as T, headers: response.headers };
}

interface Auth { user: User; token: string }

function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? 'Firefox' : /Edg\//.test(ua) ? 'Edge' : /Chrome\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Windows/.test(ua) ? 'Windows' : /Mac OS/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : '';
  return system ? `${browser}, ${system}` : browser;
}

export const api = {
  register: (username: string, password: string, display_name: string) =>
    call<Auth>('POST', '/auth/register', { username, password, display_name, device_name: deviceName() }),
  login: (username: string, password: string) =>
    call<Auth>('POST', '/auth/login', { username, password, device_name: deviceName() }),
  logout: () => call<void>('POST', '/auth/logout'),
  me: () => call<User>('GET', '/me'),
  updateProfile: (display_name: string, about: string) => call<User>('PATCH', '/me', { display_name, about }),
  userByUsername: (username: string) => call<User>('GET', `/users/by-username/${encodeURIComponent(username)}`),
  user: (id: number) => call<User>('GET', `/users/${id}`),
  sessions: () => call<{ sessions: Session[] }>('GET', '/sessions').then((r) => r.sessions),
  revokeSession: (id: number) => call<void>('DELETE', `/sessions/${id}`),
  wsTicket: () => call<{ ticket: string }>('POST', '/ws/ticket').then((r) => r.ticket),
  chats: () => call<{ chats: Chat[] }>('GET', '/chats').then((r) => r.chats),
  chat: (id: number) => call<Chat>('GET', `/chats/${id}`),
  createChat: (kind: ChatKind, title: string | null, member_ids: number[], privacy: ChatPrivacy = 'community') =>
    call<Chat>('POST', '/chats', { kind, title, member_ids, privacy }),
  /** Deletes a group or channel for everyone (its owner only; `forbidden` otherwise): each member,
   * the caller too, then gets `member.removed`. */
  deleteChat: (id: number) => call<void>('DELETE', `/chats/${id}`),
  members: (id: number) => call<{ members: Member[] }>('GET', `/chats/${id}/members`).then((r) => r.members),
  addMembers: (id: number, user_ids: number[]) => call<void>('POST', `/chats/${id}/members`, { user_ids }),
  removeMember: (id: number, userId: number) => call<void>('DELETE', `/chats/${id}/members/${userId}`),
  invites: (id: number) => call<{ invites: Invite[] }>('GET', `/chats/${id}/invites`).then((r) => r.invites),
  createInvite: (id: number) => call<Invite>('POST', `/chats/${id}/invites`, {}),
  invitePreview: (code: string) => call<{ code: string; chat: ChatInfo }>('GET', `/invites/${encodeURIComponent(code)}`),
  join: (code: string) => call<Chat>('POST', `/invites/${encodeURIComponent(code)}/join`),
  messages: (id: number, query: { before?: number; after?: number; limit?: number }) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return call<{ messages: Message[] }>('GET', `/chats/${id}/messages?${params}`).then((r) => r.messages);
  },
  /** 202 means held: it goes out by itself when the org's quiet hours or the recipient's do-not-disturb end. */
  send: async (id: number, client_msg_id: string, text: string, reply_to: number | null, request_ack = false, urgent = false,
    extra: { poll?: Poll; thread_of?: number; attachments?: number[] } = {}): Promise<SendOutcome> => {
    const body = { client_msg_id, text, reply_to, request_ack, urgent, ...extra };
    const { status, data } = await callWithStatus<Message | HeldMessage>('POST', `/chats/${id}/messages`, body);
    return status === 202 ? { held: true, message: data as HeldMessage } : { held: false, message: data as Message };
  },
  /** An MLS application message to an encrypted chat (base64), nothing else in clear. */
  sendSealed: (id: number, client_msg_id: string, mls: string) =>
    call<Message>('POST', `/chats/${id}/messages`, { client_msg_id, mls }),
  publishKeyPackages: (key_packages: string[], last_resort: string | null) =>
    call<KeyPackageStatus>('POST', '/mls/key-packages', { key_packages, ...(last_resort ? { last_resort } : {}) }),
  keyPackageStatus: () => call<KeyPackageStatus>('GET', '/mls/key-packages'),
  /** A user's devices and their signing keys (base64): what safety numbers are made of. */
  devices: (userId: number) => call<{ devices: { id: number; signature_key: string; created_on: string }[] }>('GET', `/users/${userId}/devices`).then((r) => r.devices),
  mlsGroup: (id: number) => call<MlsGroupState>('GET', `/chats/${id}/mls`),
  claimKeyPackages: (id: number, devices: number[]) =>
    call<{ key_packages: { user_id: number; device_id: number; key_package: string }[] }>('POST', `/chats/${id}/mls/key-packages/claim`, { devices }),
  commit: (id: number, client_msg_id: string, commit: string, welcome: string | null) =>
    call<Message>('POST', `/chats/${id}/mls/commits`, { client_msg_id, commit, ...(welcome ? { welcome } : {}) }),
  welcomes: () => call<{ welcomes: Welcome[] }>('GET', '/mls/welcomes').then((r) => r.welcomes),
  /** This session lost its MLS state: it starts again as a new device (members replace its leaves). */
  forgetDevice: () => call<void>('DELETE', '/mls/devices/me'),
  forgetWelcome: (id: number) => call<void>('DELETE', `/mls/welcomes/${id}`),
  held: (id: number) => call<{ messages: HeldMessage[] }>('GET', `/chats/${id}/held`).then((r) => r.messages),
  cancelHeld: (id: number, heldId: number) => call<void>('DELETE', `/chats/${id}/held/${heldId}`),
  remind: (id: number, seq: number) => call<{ reminded: number }>('POST', `/chats/${id}/messages/${seq}/remind`).then((r) => r.reminded),
  doNotDisturb: () => call<{ until: number | null }>('GET', '/me/dnd').then((r) => r.until),
  setDoNotDisturb: (until: number | null) => call<{ until: number | null }>('PUT', '/me/dnd', { until }).then((r) => r.until),
  setPolicy: (orgId: number, policy: OrgPolicy) => call<OrgInfo>('PUT', `/orgs/${orgId}/policy`, policy),
  polls: (id: number) => call<{ polls: PollResults[] }>('GET', `/chats/${id}/polls`).then((r) => r.polls),
  /** Replaces the caller's vote; `[]` takes it back. */
  vote: (id: number, seq: number, options: number[]) => call<PollResults>('POST', `/chats/${id}/messages/${seq}/vote`, { options }),
  threads: (id: number) => call<{ threads: ThreadSummary[] }>('GET', `/chats/${id}/threads`).then((r) => r.threads),
  thread: (id: number, root: number, query: { after?: number; limit?: number } = {}) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return call<{ messages: Message[] }>('GET', `/chats/${id}/threads/${root}?${params}`).then((r) => r.messages);
  },
  pinned: (id: number) => call<{ seq: number | null }>('GET', `/chats/${id}/pin`).then((r) => r.seq),
  pin: (id: number, seq: number | null) => call<{ seq: number | null }>('PUT', `/chats/${id}/pin`, { seq }).then((r) => r.seq),
  ackRequests: (id: number) => call<{ requests: { seq: number; acked: boolean }[] }>('GET', `/chats/${id}/acks`).then((r) => r.requests),
  acknowledge: (id: number, seq: number) => call<void>('POST', `/chats/${id}/messages/${seq}/ack`),
  edit: (id: number, seq: number, text: string) => call<Message>('PATCH', `/chats/${id}/messages/${seq}`, { text }),
  remove: (id: number, seq: number) => call<void>('DELETE', `/chats/${id}/messages/${seq}`),
  react: (id: number, seq: number, emoji: string) =>
    call<{ added: boolean }>('POST', `/chats/${id}/messages/${seq}/reactions`, { emoji }),
  readBy: (id: number, seq: number) => call<{ user_ids: number[] }>('GET', `/chats/${id}/messages/${seq}/read-by`).then((r) => r.user_ids),
  markRead: (id: number, seq: number) => call<void>('POST', `/chats/${id}/read`, { seq }),
  orgs: () => call<{ orgs: OrgInfo[] }>('GET', '/orgs').then((r) => r.orgs),
  /** For the server's instance admins (`forbidden` for others; `invalid_org` for a bad name or an unknown time zone).
   * The caller becomes the new org's admin. */
  createOrg: (name: string, time_zone: string) => call<OrgInfo>('POST', '/orgs', { name, time_zone }),
  roster: (orgId: number) => call<RosterView>('GET', `/orgs/${orgId}/roster`),
  importRoster: (orgId: number, csv: ArrayBuffer, dryRun: boolean) =>
    call<RosterReport>('PUT', `/orgs/${orgId}/roster?dry_run=${dryRun}`, { contentType: 'text/csv; charset=utf-8', bytes: csv }),
  /** New codes (each person's older code stops working): for `person_ids` only, or everyone not joined yet (of `unit_id`);
   * `not_found` when one of `person_ids` is not on the current roster. */
  issueClaimCodes: (orgId: number, request: { unit_id?: number; include_claimed?: boolean; person_ids?: number[] }) =>
    call<ClaimCodeList>('POST', `/orgs/${orgId}/claim-codes`, request),
  reach: (chatId: number, seq: number) => call<MessageReach>('GET', `/chats/${chatId}/messages/${seq}/reach`),
  claim: (code: string) => call<{ org: OrgInfo; person_name: string }>('POST', '/claim', { code }),
  // --- chat moderation and privacy (web-chatmod) ---
  /** To the moderation queue of the org that keeps the chat (`not_found` when none does). */
  /** `disclosure`: an encrypted message's content as decrypted (base64), which the report then holds. */
  report: (chatId: number, seq: number, reason: string, disclosure?: string) =>
    call<void>('POST', `/chats/${chatId}/messages/${seq}/report`, { reason, ...(disclosure ? { disclosure } : {}) }),
  chatSettings: (chatId: number, settings: ChatSettings) => call<Chat>('PATCH', `/chats/${chatId}/settings`, settings),
  /** Mutes a member until `until` (ms, in the future), or (null) unmutes. */
  mute: (chatId: number, userId: number, until: number | null) => call<void>('PUT', `/chats/${chatId}/members/${userId}/mute`, { until }),
  setShowUsername: (show_username: boolean) => call<User>('PATCH', '/me', { show_username }),
  // web-orgadmin: org roles, moderation queue, audit log, rollover, safeguarding review.
  orgRoles: (orgId: number) => call<{ roles: OrgRoleHolder[] }>('GET', `/orgs/${orgId}/roles`).then((r) => r.roles),
  grantOrgRole: (orgId: number, username: string, role: OrgRole) => call<void>('POST', `/orgs/${orgId}/roles`, { username, role }),
  revokeOrgRole: (orgId: number, userId: number, role: OrgRole) => call<void>('DELETE', `/orgs/${orgId}/roles/${userId}/${role}`),
  reports: (orgId: number, all: boolean) => call<{ reports: Report[] }>('GET', `/orgs/${orgId}/reports?all=${all}`).then((r) => r.reports),
  resolveReport: (orgId: number, reportId: number, action: ReportAction) =>
    call<Report>('POST', `/orgs/${orgId}/reports/${reportId}/resolve`, { action }),
  audit: (orgId: number, before?: number) =>
    call<{ entries: AuditEntry[] }>('GET', `/orgs/${orgId}/audit${before === undefined ? '' : `?before=${before}`}`).then((r) => r.entries),
  rollover: (orgId: number, final_grade: number, dry_run: boolean) => call<RolloverReport>('POST', `/orgs/${orgId}/rollover`, { final_grade, dry_run }),
  reviewedChats: (orgId: number) => call<{ chats: ReviewedChat[] }>('GET', `/orgs/${orgId}/safeguarding/chats`).then((r) => r.chats),
  /** The newest `limit` messages before seq `before` (or the newest of all), oldest first; each reading is audited. */
  reviewMessages: (orgId: number, chatId: number, limit: number, before?: number) =>
    call<{ messages: Message[] }>('GET', `/orgs/${orgId}/safeguarding/chats/${chatId}/messages?limit=${limit}${before === undefined ? '' : `&before=${before}`}`)
      .then((r) => r.messages),
  // web-bots: the caller's bots, opening a bot's chat (its deep link), and a chat's bot commands.
  bots: () => call<{ bots: Bot[] }>('GET', '/bots').then((r) => r.bots),
  /** The token comes only in this answer (and from newBotToken): the server keeps only its hash. */
  createBot: (username: string, name: string) => call<{ bot: Bot; token: string }>('POST', '/bots', { username, name }),
  /** The old token stops working at once. */
  newBotToken: (botId: number) => call<{ token: string }>('POST', `/bots/${botId}/token`).then((r) => r.token),
  /** Opens (or reopens) the caller's chat with the bot, which gets `bot_started` with the payload. */
  startBot: (username: string, payload: string | null) =>
    call<Chat>('POST', `/bots/by-username/${encodeURIComponent(username)}/start`, payload ? { payload } : {}),
  /** Sets the address of the bot's mini-app (https; null removes it). Its owner only: `bad_request` for an address refused. */
  setBotWebApp: (botId: number, web_app_url: string | null) => call<Bot>('PATCH', `/bots/${botId}`, { web_app_url }),
  /** The bot's mini-app for the caller: its address and the signed data to launch it with
   * (`not_found` if the bot has none; `forbidden` if the caller shares no chat with the bot). */
  webApp: (username: string, chat_id: number, start_param: string | null) =>
    call<WebAppLaunch>('POST', `/bots/by-username/${encodeURIComponent(username)}/web-app`, start_param ? { chat_id, start_param } : { chat_id }),
  /** Presses a bot's callback button: the bot is told, and answers with a `callback.answered` event. */
  pressButton: (chatId: number, seq: number, payload: string) => call<void>('POST', `/chats/${chatId}/messages/${seq}/callback`, { payload }),
  /** Presses a bot's `chat` button, at its place in the message's keyboard: the first press makes
   * the button's group (the caller owns it), later ones join it. Gives that group. */
  pressChatButton: (chatId: number, seq: number, row: number, column: number) =>
    call<Chat>('POST', `/chats/${chatId}/messages/${seq}/chat-button`, { row, column }),
  chatCommands: (chatId: number) => call<{ commands: ChatCommand[] }>('GET', `/chats/${chatId}/commands`).then((r) => r.commands),
  // web-media: signed links to the files messages show. Only lib/media.ts calls this (it batches and caches).
  /** Links to files chat `chatId` shows (≤ 100 ids; ids it does not show are left out; `not_member`
   * for others). `serverNow` is the server's clock from the answer's Date header, if it has one. */
  mediaLinks: async (chat_id: number, ids: number[]): Promise<{ links: MediaLink[]; serverNow?: number }> => {
    const { data, headers } = await callWithStatus<{ links: MediaLink[] }>('POST', '/media/links', { chat_id, ids });
    const date = Date.parse(headers.get('Date') ?? '');
    return { links: data.links, serverNow: Number.isNaN(date) ? undefined : date };
  },
  // web-upload: people's uploads. Only lib/upload.ts calls these (the bytes go by XMLHttpRequest, for progress).
  /** Begins an upload into the chat (members): `payload_too_large` for a file over the server's limit. */
  beginUpload: (chatId: number, request: UploadRequest) => call<UploadState>('POST', `/chats/${chatId}/uploads`, request),
  /** Where an upload stands, to resume it after a lost connection (`not_found` once cancelled or expired). */
  uploadState: (id: number) => call<UploadState>('GET', `/uploads/${id}`),
  /** Cancels an upload: its pieces are deleted at once. */
  cancelUpload: (id: number) => call<void>('DELETE', `/uploads/${id}`),
  // web-orgbots: the bots an org approved for its chats and students.
  orgBots: (orgId: number) => call<{ bots: Bot[] }>('GET', `/orgs/${orgId}/bots`).then((r) => r.bots),
  /** `user_not_found` when there is no bot of that username. */
  allowBot: (orgId: number, username: string) => call<void>('PUT', `/orgs/${orgId}/bots/${encodeURIComponent(username)}`),
  disallowBot: (orgId: number, botId: number) => call<void>('DELETE', `/orgs/${orgId}/bots/${botId}`),
};

// --- chat moderation and privacy (web-chatmod) ---
/** Who may post: everyone the chat's kind allows, its admins only, or nobody (a read-only archive). */
export type Posting = 'everyone' | 'admins' | 'nobody';
export interface ChatSettings { posting?: Posting; slow_mode_secs?: number }
/** Set on a direct chat between a school's staff member and one of its students: the school's
 * safeguarding lead may read it. */
export interface Safeguarding { org_id: number; org: string }

// web-orgadmin: the types of org roles, moderation, the audit log, rollover and safeguarding review.
/** Whom a school's students reach besides staff and their own guardians: nobody else (`staff`, the server's default: classmates
 * talk in their class chat), their classmates, or the whole school. */
export type StudentContacts = 'class' | 'staff' | 'school';
export type OrgRole = 'admin' | 'safeguarding_lead';
export interface OrgRoleHolder { user: User; role: OrgRole }
export type ReportAction = 'dismiss' | 'delete_message';
/** A reported message: its text as it was when reported; `resolution` is `dismissed` or `message_deleted` once dealt with. */
export interface Report {
  id: number; chat_id: number; seq: number; reporter_id: number; author_id: number; text: string; reason: string; created_at: number;
  resolution: 'dismissed' | 'message_deleted' | null; resolved_by: number | null; resolved_at: number | null;
}
/** One admin or moderation action; `detail` is the server's plain-text note naming ids (never message text). */
export interface AuditEntry { id: number; actor_id: number; action: string; detail: string; at: number }
export interface UnitMove { from: string; to: string }
export interface RolloverReport { dry_run: boolean; moves: UnitMove[]; leavers: UnitMove[]; untouched: string[] }
/** A direct chat between a member of the school's staff and one of its students, by their roster names. */
export interface ReviewedChat { chat_id: number; staff_id: number; staff_name: string; student_id: number; student_name: string }

// web-bots: bots people make (docs/BOTS.md) and the commands they offer after "/".
export interface BotCommand { name: string; description: string }
/** `web_app_url`: the address of the bot's mini-app, or null if it has none. */
export interface Bot { id: number; username: string; name: string; description: string; commands: BotCommand[]; web_app_url: string | null }
/** A bot's mini-app ready to open: `init_data` is signed for the bot, and opaque here. */
export interface WebAppLaunch { url: string; init_data: string }
/** A command one of a chat's bots offers; `bot` is that bot's username. */
export interface ChatCommand extends BotCommand { bot_id: number; bot: string }

// web-keyboard: a bot's buttons under its message (Max's inline keyboard).
/** `link` urls are http(s) (the server checks). Contacts and locations are not supported here:
 * those buttons show disabled. `open_app` opens a bot's mini-app (`web_app` names the bot). `chat`
 * stands for a group of its own (the first press makes it, called `chat_title`). */
export type Button =
  | { type: 'callback'; text: string; payload: string }
  | { type: 'link'; text: string; url: string }
  | { type: 'message'; text: string }
  | { type: 'clipboard'; text: string; payload: string }
  | { type: 'request_contact'; text: string }
  | { type: 'request_geo_location'; text: string; quick?: boolean }
  | { type: 'open_app'; text: string; web_app: string; payload?: string; contact_id?: number }
  | { type: 'chat'; text: string; chat_title: string; chat_description?: string; start_payload?: string; uuid?: string };
