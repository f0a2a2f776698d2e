//! The typed API over a recording transport: commands go by name with their arguments, the
//! avatar as a raw body, and images become object URLs cached per hash, failures not cached.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Api } from './api';
import { BackendError } from './errors';
import type { EventHandlers, Transport } from './transport';

type Sent = { command: string; args: object; body?: Uint8Array };

/** A transport that records what is sent and answers from `answer`. */
function recording(answer: (s: Sent) => unknown): Transport & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    kind: 'http',
    sent,
    async invoke(command, args, body) {
      const s = { command, args, ...(body ? { body } : {}) };
      sent.push(s);
      const a = answer(s);
      if (a instanceof Error) throw a;
      return a;
    },
    subscribe: (_h: EventHandlers) => () => {},
    openExternal: async () => {},
    permalink: (id) => `link:${id}`,
  };
}

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]);

describe('Api.call', () => {
  it('sends the command by name with its arguments, or none', async () => {
    const t = recording((s) => (s.command === 'thread' ? { root: null, replies: [] } : null));
    const api = new Api(t);
    const thread = await api.call('thread', { id: 'i'.repeat(64) });
    // Typed by the generated map: `thread` answers a Thread.
    expect(thread.replies).toEqual([]);
    await api.call('me');
    await api.call('timeline', { limit: 30 });
    await api.call('mark_notification_read', { id: 'n'.repeat(64), limit: 100 });
    expect(t.sent).toEqual([
      { command: 'thread', args: { id: 'i'.repeat(64) } },
      { command: 'me', args: {} },
      { command: 'timeline', args: { limit: 30 } },
      { command: 'mark_notification_read', args: { id: 'n'.repeat(64), limit: 100 } },
    ]);
  });

  it('gives up on a command that never answers, with a timeout error', async () => {
    const stuck: Transport = { ...recording(() => null), invoke: () => new Promise(() => {}) };
    const api = new Api(stuck, 20);
    const e = await api.call('me').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(BackendError);
    expect((e as BackendError).code).toBe('timeout');
    const up = await api.setAvatar(PNG).catch((err: unknown) => err);
    expect((up as BackendError).code).toBe('timeout');
  });

  it('rejects wrong names and arguments at compile time', () => {
    const api = new Api(recording(() => null));
    // @ts-expect-error: no such command
    void api.call('mark_read', {}).catch(() => {});
    // @ts-expect-error: `thread` needs an id
    void api.call('thread').catch(() => {});
    // @ts-expect-error: `post` takes `text`, not `body`
    void api.call('post', { body: 'x' }).catch(() => {});
    // @ts-expect-error: the upload goes through setAvatar, with its bytes
    void api.call('set_avatar', {}).catch(() => {});
  });

  it('sends the avatar as the raw body', async () => {
    const t = recording(() => ({ key: 'k' }));
    const p = await new Api(t).setAvatar(PNG);
    expect(p.key).toBe('k');
    expect(t.sent).toEqual([{ command: 'set_avatar', args: {}, body: PNG }]);
  });

  it('passes links and permalinks to the transport', () => {
    expect(new Api(recording(() => null)).permalink('abc')).toBe('link:abc');
  });
});

describe('Api.blobUrl', () => {
  const orig = { create: URL.createObjectURL };
  let made: Blob[] = [];
  beforeEach(() => {
    made = [];
    URL.createObjectURL = (b: Blob) => {
      made.push(b);
      return `blob:${made.length}`;
    };
  });
  afterEach(() => {
    URL.createObjectURL = orig.create;
  });

  it('fetches an image once per hash and types it by its bytes', async () => {
    const t = recording(() => PNG);
    const api = new Api(t);
    const h = 'h'.repeat(64);
    const [a, b] = await Promise.all([api.blobUrl(h), api.blobUrl(h)]);
    expect(a).toBe('blob:1');
    expect(b).toBe('blob:1');
    expect(await api.blobUrl(h)).toBe('blob:1');
    expect(t.sent).toEqual([{ command: 'blob', args: { hash: h } }]);
    expect(made[0].type).toBe('image/png');
  });

  it('does not cache a failure: the image may arrive with a later sync', async () => {
    let have = false;
    const t = recording(() => (have ? PNG : new BackendError('not_found', 'No peer has it now.')));
    const api = new Api(t);
    const h = 'a'.repeat(64);
    await expect(api.blobUrl(h)).rejects.toMatchObject({ code: 'not_found' });
    have = true;
    expect(await api.blobUrl(h)).toBe('blob:1');
    expect(t.sent).toHaveLength(2);
  });
});
