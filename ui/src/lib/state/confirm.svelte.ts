//! One confirmation dialog for the whole app ("Delete this post?"), awaited like `confirm()`.

export type ConfirmRequest = {
  title: string;
  body: string;
  confirmLabel: string;
  danger: boolean;
  resolve: (ok: boolean) => void;
};

class Confirmer {
  current = $state<ConfirmRequest | null>(null);

  ask(o: { title: string; body: string; confirmLabel: string; danger?: boolean }): Promise<boolean> {
    this.current?.resolve(false);
    return new Promise((resolve) => {
      this.current = { ...o, danger: o.danger ?? false, resolve };
    });
  }

  answer(ok: boolean) {
    const c = this.current;
    this.current = null;
    c?.resolve(ok);
  }
}

export const confirmer = new Confirmer();
