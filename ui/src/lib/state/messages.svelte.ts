//! The message cache: every message the app has seen, for "replying to @name" without asking the
//! node again and for the shortcuts on a focused post, and the reply counts they add up to.
//! Views fetch fresh; this only remembers what passed by.

import { SvelteMap } from 'svelte/reactivity';
import type { MessageView, NodeEvent, Thread } from '../backend/types';
import { isPost } from '../backend/types';
import { session } from './session.svelte';

class Messages {
  /** Reply counts per parent id, from every message seen. */
  readonly replyCounts = new SvelteMap<string, number>();
  /** Replies already counted, so a message seen twice counts once. */
  private readonly counted = new Set<string>();
  private readonly byId = new Map<string, MessageView>();
  /** Threads fetched for lookups, once per root per session. */
  private readonly threads = new Map<string, Promise<Thread | null>>();

  /** Notes messages seen (for parent lookups and reply counts). */
  remember(ms: MessageView[]) {
    for (const m of ms) {
      this.byId.set(m.id, m);
      if (isPost(m) && m.content.parent && !this.counted.has(m.id)) {
        this.counted.add(m.id);
        const p = m.content.parent;
        this.replyCounts.set(p, (this.replyCounts.get(p) ?? 0) + 1);
      }
    }
  }

  forget(id: string) {
    const m = this.byId.get(id);
    if (m && isPost(m) && m.content.parent && this.counted.delete(id)) {
      const p = m.content.parent;
      this.replyCounts.set(p, Math.max(0, (this.replyCounts.get(p) ?? 1) - 1));
    }
    this.byId.delete(id);
  }

  /** Remembers the messages that node events carry. */
  onEvent(e: NodeEvent) {
    if (e.type === 'published') this.remember([e.message]);
    else if (e.type === 'notification') this.remember([e.notification.message]);
  }

  /** A message already seen, by id. */
  known(id: string): MessageView | null {
    return this.byId.get(id) ?? null;
  }

  /** A message by id, from what was seen or else from its thread. */
  async lookup(id: string, root: string | null): Promise<MessageView | null> {
    const known = this.byId.get(id);
    if (known) return known;
    await this.thread(root ?? id);
    return this.byId.get(id) ?? null;
  }

  private thread(root: string): Promise<Thread | null> {
    let t = this.threads.get(root);
    if (!t) {
      t = session.api.call('thread', { id: root }).then(
        (th) => {
          this.remember([...(th.root ? [th.root] : []), ...th.replies]);
          return th;
        },
        () => {
          this.threads.delete(root);
          return null;
        },
      );
      this.threads.set(root, t);
    }
    return t;
  }
}

export const messages = new Messages();
