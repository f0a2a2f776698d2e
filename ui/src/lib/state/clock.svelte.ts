//! A shared "now" that ticks every 30 s, so relative times stay current without each post
//! keeping its own timer.

export const clock = $state({ now: Date.now() });

if (typeof window !== 'undefined') {
  setInterval(() => {
    clock.now = Date.now();
  }, 30_000);
}
