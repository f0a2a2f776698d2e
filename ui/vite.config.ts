//! Vite build of the Rookery UI: Svelte components, CSS emitted to files (the app runs under a
//! strict CSP with no inline styles or scripts), relative asset paths so the same `dist/` serves
//! from `rookery serve` and from the Tauri shell.
import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  base: './',
  plugins: [svelte({ emitCss: true })],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Inlined assets would become data: URLs in CSS/JS; keep fonts/images as files.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: {
    // `npm run dev` against a running `rookery serve --http 127.0.0.1:8787`.
    proxy: { '/api': 'http://127.0.0.1:8787' },
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
