// Svelte compiler options shared by Vite and svelte-check.
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

export default {
  preprocess: vitePreprocess(),
  compilerOptions: {
    // Component CSS goes to .css files through Vite (never injected <style> tags): the app
    // runs under `style-src 'self'`.
    css: 'external',
  },
};
