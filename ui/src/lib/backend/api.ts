//! The UI's one API: every command of the node's table, typed by the generated `Commands` map,
//! over whichever `Transport` the app runs on. `call('thread', { id })` resolves to a `Thread`;
//! a wrong name or a wrong argument is a type error. Beyond that it adds only what the views
//! would otherwise each do: the avatar upload, and images as cached object URLs.

import { BackendError } from './errors';
import type { Commands, Profile } from './generated';
import { sniffImageType } from './mime';
import type { EventHandlers, Transport } from './transport';

/** A command's name. */
export type Command = keyof Commands;
/** Commands that take a raw body (the avatar upload): see `Api.setAvatar`. */
type Upload = { [K in Command]: Commands[K] extends { body: Uint8Array } ? K : never }[Command];
/** Commands called with JSON arguments only. */
export type JsonCommand = Exclude<Command, Upload>;
/** The arguments, optional when every field of them is. */
type ArgsParam<K extends Command> = {} extends Commands[K]['args'] ? [args?: Commands[K]['args']] : [args: Commands[K]['args']];

/**
 * The longest the UI waits for any command. The node answers a read within a few seconds
 * whatever its peers do (`not_synced` if it must), and gives up on any command after 30 s; past
 * this the node itself is stuck or gone, and the UI says so instead of waiting for ever.
 */
export const CALL_TIMEOUT_MS = 35_000;

/** `p`, or a `timeout` error once `ms` have passed. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BackendError('timeout', `The node did not answer "${what}" in time. Check that it is running, then retry.`)),
      ms,
    );
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

/** Every promise rejects with a `BackendError`. */
export class Api {
  /** Object URLs of images by hash, kept for the page's life (avatars are few and small). */
  private readonly images = new Map<string, Promise<string>>();

  constructor(
    readonly transport: Transport,
    private readonly timeoutMs = CALL_TIMEOUT_MS,
  ) {}

  get kind(): Transport['kind'] {
    return this.transport.kind;
  }

  /** Runs a command of the table. */
  call<K extends JsonCommand>(command: K, ...[args]: ArgsParam<K>): Promise<Commands[K]['ret']> {
    const answer = this.transport.invoke(command, args ?? {}, undefined, this.timeoutMs);
    return withTimeout(answer, this.timeoutMs, command) as Promise<Commands[K]['ret']>;
  }

  /** Sets my avatar to the image `bytes`. */
  setAvatar(bytes: Uint8Array): Promise<Profile> {
    const answer = this.transport.invoke('set_avatar', {}, bytes, this.timeoutMs);
    return withTimeout(answer, this.timeoutMs, 'set_avatar') as Promise<Profile>;
  }

  /**
   * A `blob:` URL an `<img>` can show for an image hash: the bytes come through the transport
   * (so over HTTP the token stays in a header, never in an image address people copy). A
   * failure is not cached: the image may arrive with a later sync.
   */
  blobUrl(hash: string): Promise<string> {
    let url = this.images.get(hash);
    if (!url) {
      const made = this.call('blob', { hash }).then((b) => URL.createObjectURL(new Blob([b as BlobPart], { type: sniffImageType(b) })));
      made.catch(() => {
        if (this.images.get(hash) === made) this.images.delete(hash);
      });
      this.images.set(hash, (url = made));
    }
    return url;
  }

  subscribe(h: EventHandlers): () => void {
    return this.transport.subscribe(h);
  }

  openExternal(url: string): Promise<void> {
    return this.transport.openExternal(url);
  }

  permalink(id: string): string {
    return this.transport.permalink(id);
  }
}
